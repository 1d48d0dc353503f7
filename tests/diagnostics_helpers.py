"""Run records shared by the diagnostics and Grafana tests: a day of history with known figures."""

from __future__ import annotations

from datetime import datetime, timedelta

from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.diagnostics.records import RunRecord


def recorded_history(instance: str, now: datetime) -> None:
    """A day of runs: 'late' synced hourly until 5 hours ago, 'steady' until now, two
    failures, and a job that restarted twice."""
    connector = get_connector(instance)
    for hour in range(24, 0, -1):
        started = now - timedelta(hours=hour)
        if hour >= 5:
            connector.record_run(RunRecord("sync", started, 0.5, "src", "late", inserted=100, bytes=800))
        connector.record_run(RunRecord("sync", started, 0.2, "src", "steady", updated=10, unchanged=40))
    for minutes in (30, 90):
        error = "SyncError: the database refused the batch"
        connector.record_run(
            RunRecord(
                "sync", now - timedelta(minutes=minutes), 0.1, "src", "steady", success=False, error=error
            )
        )
    for restarts in range(3):
        connector.record_run(
            RunRecord(
                "job",
                now - timedelta(minutes=50 - restarts),
                1.0,
                job="loader",
                success=restarts == 2,
                exit_code=0 if restarts == 2 else 1,
                restarts=restarts,
                error=None if restarts == 2 else "exited with code 1",
            )
        )
