"""Recording runs as they end: ``@recorded("sync")`` on the pipe's methods, and job runs.

Each run costs one INSERT after it ends (see ``connectors/sql/runs.py``); a run that raised is
recorded with its error before the exception goes on. Runs inside a run (the syncs a verify
makes) are part of the outer run, not runs of their own. A record that cannot be written
(the instance is down, read-only) is logged and never fails the sync it describes.
``MRSM_JUPYTER_RUNS=off`` turns recording off in a process.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from mrsm_jupyter.diagnostics.records import RunKind, RunRecord
from mrsm_jupyter.pipes.result import SyncResult

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.instance import InstanceConnector
    from mrsm_jupyter.jobs.model import JobRecord, JobResult
    from mrsm_jupyter.pipes.pipe import Pipe

logger = logging.getLogger(__name__)
RUNS_ENV = "MRSM_JUPYTER_RUNS"
P = ParamSpec("P")
R = TypeVar("R", bound=SyncResult)
_IN_RUN: ContextVar[bool] = ContextVar("mrsm_jupyter_in_run", default=False)


def recording_enabled() -> bool:
    return os.environ.get(RUNS_ENV, "on").strip().lower() not in ("off", "0", "false", "no")


def recorded(
    kind: RunKind,
) -> Callable[[Callable[Concatenate[Pipe, P], R]], Callable[Concatenate[Pipe, P], R]]:
    """Record each call of a pipe method returning a SyncResult as one run of ``kind``."""

    def decorate(method: Callable[Concatenate[Pipe, P], R]) -> Callable[Concatenate[Pipe, P], R]:
        @functools.wraps(method)
        def run(pipe: Pipe, *args: P.args, **kwargs: P.kwargs) -> R:
            if _IN_RUN.get() or not recording_enabled():
                return method(pipe, *args, **kwargs)
            token = _IN_RUN.set(True)
            started, clock = datetime.now(UTC), time.perf_counter()
            try:
                result = method(pipe, *args, **kwargs)
            except Exception as exc:
                save_run(pipe.instance_connector, pipe_run(kind, pipe, started, clock, None, exc))
                raise
            finally:
                _IN_RUN.reset(token)
            save_run(pipe.instance_connector, pipe_run(kind, pipe, started, clock, result, None))
            return result

        return run  # type: ignore[return-value]  # functools.wraps types the wrapper apart from P

    return decorate


def pipe_run(
    kind: RunKind,
    pipe: Pipe,
    started: datetime,
    clock: float,
    result: SyncResult | None,
    error: BaseException | None,
) -> RunRecord:
    """The record of a pipe's run that ended with ``result`` or raised ``error``."""
    counts = result if result is not None else SyncResult(str(pipe))
    return RunRecord(
        kind=kind,
        started=started,
        duration=time.perf_counter() - clock,
        connector_keys=pipe.connector_keys,
        metric_key=pipe.metric_key,
        location_key=pipe.location_key,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        bytes=getattr(counts, "bytes_moved", counts.nbytes),  # a verify counts what it moved
        success=error is None and counts.success,
        error=None if error is None else f"{type(error).__name__}: {error}",
    )


def save_run(instance: InstanceConnector, run: RunRecord) -> None:
    """Write the record; a failure is logged, never raised (the run itself went as it went)."""
    try:
        instance.record_run(run)
    except Exception as exc:
        what = f"{run.kind} of {run.job or (run.connector_keys, run.metric_key, run.location_key)}"
        logger.warning(
            "%s: could not record the %s (%s: %s); diagnostics will miss this run. "
            "Check the instance, or set %s=off to stop recording.",
            instance.keys,
            what,
            type(exc).__name__,
            exc,
            RUNS_ENV,
        )


def record_job_run(record: JobRecord, result: JobResult, instance: InstanceConnector | None = None) -> None:
    """Record a job's ended run (on the default instance of the job's root unless given)."""
    if not recording_enabled() or record.started is None:
        return
    if instance is None:
        from mrsm_jupyter.connectors.registry import get_connector  # noqa: PLC0415 (duckdb, sqlalchemy)

        instance = get_connector(None)
    ended = record.ended or datetime.now(UTC)
    run = RunRecord(
        kind="job",
        started=record.started,
        duration=max((ended - record.started) / timedelta(seconds=1), 0.0),
        job=record.name,
        success=result.ok,
        error=None if result.ok else result.message,
        exit_code=result.exit_code,
        restarts=max(record.runs - 1, 0),
    )
    save_run(instance, run)
