"""One job as the shells show it: its status (with the next run), what it runs, times, last result.

``show jobs`` prints summaries as a table and the jobs widget shows one row per summary, so
both say the same thing in the same words. Times are UTC, like the log's timestamps.

>>> from mrsm_jupyter.jobs.model import JobRecord, JobSpec
>>> summarize(JobRecord("temps", JobSpec("action", argv=("sync", "pipes", "-m", "temperature")))).row()
('temps', 'stopped', 'sync pipes -m temperature', '', 'never', '', '', '')
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mrsm_jupyter.actions.outcome import ActionOutcome, PipeFailure, Table
from mrsm_jupyter.errors import JobError
from mrsm_jupyter.jobs.api import Job
from mrsm_jupyter.jobs.model import JobRecord, JobSpec, JobState

JOB_HEADERS = ("job", "status", "runs", "schedule", "restart", "started", "ended", "last result")
_MAX_TEXT = 60
_MAX_RESULT = 120


@dataclass(frozen=True)
class JobSummary:
    """A job's record as short texts (status, what it runs, times, last result)."""

    name: str
    state: JobState
    status: str
    runs: str
    schedule: str
    restart: str
    started: str
    ended: str
    result: str
    # How the last run ended: True, False, or None before the first run ended.
    ok: bool | None

    def row(self) -> tuple[str, ...]:
        """The cells of ``show jobs``, in the order of :data:`JOB_HEADERS`."""
        return (
            self.name,
            self.status,
            self.runs,
            self.schedule,
            self.restart,
            self.started,
            self.ended,
            self.result,
        )


def format_time(moment: datetime | None) -> str:
    """``2024-05-01 12:00:00 UTC``, or nothing when there is no time."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_spec(spec: JobSpec) -> str:
    """What a job runs, in a few words: the action's words, the notebook's name, the cell's first line."""
    if spec.kind in ("action", "command"):
        return _shorten(" ".join(shlex.join(spec.argv).splitlines()), _MAX_TEXT)
    parameters = f" {json.dumps(spec.parameters)}" if spec.parameters else ""
    if spec.kind == "notebook":
        return _shorten(f"notebook {Path(spec.notebook or '').name}{parameters}", _MAX_TEXT)
    first = next((line.strip() for line in (spec.code or "").splitlines() if line.strip()), "")
    return _shorten(f"cell: {first}{parameters}", _MAX_TEXT)


def status_text(record: JobRecord) -> str:
    """The state, with when a scheduled job runs next or a restarting job starts again."""
    if record.state == "scheduled" and record.next_run is not None:
        return f"scheduled (next {format_time(record.next_run)})"
    if record.state == "restarting" and record.restart_at is not None:
        return f"restarting (at {format_time(record.restart_at)})"
    return record.state


def result_text(record: JobRecord) -> str:
    result = record.last_result
    if result is None:
        return ""
    return _shorten(f"{'ok' if result.ok else 'failed'}: {result.message}", _MAX_RESULT)


def summarize(record: JobRecord) -> JobSummary:
    """The summary of one job's record."""
    return JobSummary(
        name=record.name,
        state=record.state,
        status=status_text(record),
        runs=describe_spec(record.spec),
        schedule=record.spec.schedule or "",
        restart=record.spec.restart,
        started=format_time(record.started),
        ended=format_time(record.ended),
        result=result_text(record),
        ok=None if record.last_result is None else record.last_result.ok,
    )


def jobs_table(summaries: Iterable[JobSummary], caption: str = "Jobs") -> Table:
    """One row per job, as ``show jobs`` prints it."""
    return Table(caption, JOB_HEADERS, tuple(summary.row() for summary in summaries))


def jobs_outcome(
    action: str, message: str, jobs: Iterable[Job], failures: Iterable[PipeFailure] = ()
) -> ActionOutcome:
    """An outcome listing ``jobs`` as they stand now; a job whose record cannot be read fails alone."""
    shown: list[Job] = []
    summaries: list[JobSummary] = []
    failed = list(failures)
    for job in jobs:
        try:
            summaries.append(summarize(job.record))
            shown.append(job)
        except JobError as exc:
            failed.append(PipeFailure(job.name, exc))
    tables = [jobs_table(summaries)] if summaries else []
    return ActionOutcome(action, message, tables=tables, jobs=shown, failures=failed)
