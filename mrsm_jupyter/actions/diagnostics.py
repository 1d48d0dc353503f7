"""``show diagnostics``: what the instance's run records say, as tables and a dashboard."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from mrsm_jupyter.actions.errors import ActionArgumentError
from mrsm_jupyter.actions.grammar import ActionRequest, TimeArg
from mrsm_jupyter.actions.outcome import ActionOutcome, Table
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.actions.selection import instance_keys
from mrsm_jupyter.diagnostics.dashboard import dashboard_figure
from mrsm_jupyter.diagnostics.runs import (
    behind_schedule,
    failed_runs,
    filter_keys,
    get_runs,
    job_restarts,
    rows_per_pipe,
)

# Without --begin, the dashboard covers this much of the past.
DEFAULT_DAYS = 7
# Failed runs listed in the text summary (the dashboard counts them all).
FAILURES_SHOWN = 10


def show_diagnostics(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Runs recorded on the instance in ``[--begin, --end)`` (default: the last 7 days), for
    the pipes matching -c/-m/-l: rows per pipe, failures, job restarts, pipes behind."""
    instance = instance_keys(request, context)
    now = datetime.now(UTC)
    begin = request.begin if request.begin is not None else now - timedelta(days=DEFAULT_DAYS)
    runs = get_runs(instance=instance, begin=_time(begin), end=_time(request.end))
    runs = filter_keys(runs, request.connector_keys, request.metric_keys, request.location_keys)
    failed = int((~runs["success"].astype(bool)).sum())
    message = (
        f"{len(runs):,} run(s) on {instance} since {pd.Timestamp(begin).isoformat()}: "
        f"{(runs['kind'] == 'sync').sum():,} sync, {(runs['kind'] == 'verify').sum():,} verify, "
        f"{(runs['kind'] == 'job').sum():,} job; {failed:,} failed."
    )
    return ActionOutcome(
        request.words,
        message,
        tables=summary_tables(runs, now),
        figure=dashboard_figure(runs, f"Diagnostics of {instance}", now),
    )


def _time(value: TimeArg | datetime) -> datetime | str | None:
    """Run records are timed; an integer bound (a pipe's integer axis) means nothing to them."""
    if isinstance(value, int):
        raise ActionArgumentError("show diagnostics takes --begin and --end as ISO 8601 datetimes.")
    return value


def summary_tables(runs: pd.DataFrame, now: datetime) -> list[Table]:
    """The dashboard's panels that read as text: pipes, failures, jobs, pipes behind."""
    pipes = rows_per_pipe(runs)[["name", "runs", "inserted", "updated", "unchanged", "bytes", "failed"]]
    failures = failed_runs(runs).head(FAILURES_SHOWN)[["started", "kind", "name", "error"]]
    jobs = job_restarts(runs)[["name", "runs", "failed", "restarts", "last_exit_code"]]
    late = behind_schedule(runs, now)[["name", "kind", "last_success", "interval", "late_by"]]
    return [
        Table("Rows per pipe", ("pipe", *pipes.columns[1:]), _cells(pipes), frozenset(range(1, 7))),
        Table(f"Failed runs (newest {FAILURES_SHOWN})", tuple(failures.columns), _cells(failures)),
        Table(
            "Jobs",
            ("job", "runs", "failed", "restarts", "last exit code"),
            _cells(jobs),
            frozenset({1, 2, 3}),
        ),
        Table("Behind schedule", ("name", "kind", "last success", "interval", "late by"), _cells(late)),
    ]


def _cells(frame: pd.DataFrame) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(_cell(value) for value in row) for row in frame.astype(object).to_numpy().tolist())


def _cell(value: Any) -> str:
    """Counts with separators, times to the second, the first line of an error."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(timespec="seconds")
    if isinstance(value, pd.Timedelta):
        return str(value.round("s"))
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).splitlines()[0][:120] if str(value) else ""
