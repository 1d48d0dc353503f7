"""Job state changes shared by the API and the supervisor: start a run, end it, stop, pause, resume.

A run is a detached runner process (``python -m mrsm_jupyter.jobs.runner``) in a session of its
own; the record keeps its pid and start time. Every change goes through the record's lock so
that the API, the runner and the supervisor never launch a run twice or lose a result.
A manual stop is sticky: the record says ``stopped`` before any signal is sent, and nothing
restarts a stopped job.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from mrsm_jupyter.config import ROOT_ENV
from mrsm_jupyter.jobs.errors import JobStateError
from mrsm_jupyter.jobs.logs import JobLog
from mrsm_jupyter.jobs.model import (
    JobRecord,
    JobResult,
    JobSpec,
    JobState,
    delete_job_dir,
    edit_record,
    record_lock,
)
from mrsm_jupyter.jobs.names import job_dir, job_file
from mrsm_jupyter.jobs.processes import RUN_ENV, ProcessIdentity, end_run, signal_run, spawn_detached
from mrsm_jupyter.jobs.schedule import Schedule

RUNNER_MODULE = "mrsm_jupyter.jobs.runner"
JOB_ENV = "MRSM_JUPYTER_JOB"
DEFAULT_GRACE_SECONDS = 5.0
LIVE_STATES = ("running", "paused")
_NO_REPORT = "the run ended without reporting (its runner was killed, or the machine restarted)"


def now_utc() -> datetime:
    return datetime.now(UTC)


def run_identity(record: JobRecord) -> ProcessIdentity | None:
    if record.pid is None or record.pid_started is None:
        return None
    return ProcessIdentity(record.pid, record.pid_started)


def is_run_alive(record: JobRecord) -> bool:
    identity = run_identity(record)
    return identity is not None and identity.is_alive()


def run_is_gone(record: JobRecord) -> bool:
    """The record says a run is live, but its runner has ended (killed, or the machine restarted).

    A paused schedule has no run (no pid), so it is never "gone".
    """
    return record.state in LIVE_STATES and record.pid is not None and not is_run_alive(record)


def lifecycle(record: JobRecord, root: Path, message: str) -> None:
    """A line about the job's life (started, stopped, restarting...) in its own log."""
    JobLog.for_job(record.name, root).write(f"[mrsm] {message}")


def launch_run(record: JobRecord, root: Path, *, reason: str) -> None:
    """Start a run now. The caller holds the record's lock and saves the record afterwards.

    The runner waits for that lock before it reads the record, so it always sees its run id.
    """
    root = root.resolve()  # the runner's working directory is the job's, so the root must be absolute
    run_id = uuid.uuid4().hex
    env = dict(os.environ)
    env.update({RUN_ENV: run_id, ROOT_ENV: str(root), JOB_ENV: record.name, "PYTHONUNBUFFERED": "1"})
    identity = spawn_detached(
        [sys.executable, "-m", RUNNER_MODULE, str(root), record.name, run_id],
        env=env,
        cwd=job_dir(record.name, root),
        stderr_path=job_file(record.name, "runner.err", root),
    )
    record.state = "running"
    record.run_id, record.pid, record.pid_started = run_id, identity.pid, identity.started
    record.kernel_id = record.kernel_pid = record.kernel_pid_started = None
    record.started, record.ended, record.restart_at, record.next_run = now_utc(), None, None, None
    record.runs += 1
    lifecycle(record, root, f"run {record.runs} started ({reason}), pid {identity.pid}")


def state_after_exit(record: JobRecord, result: JobResult, now: datetime) -> JobState:
    """Where a job goes when a run ends: a manual stop sticks, then schedule, then restart policy."""
    spec = record.spec
    if record.state == "stopped":
        return "stopped"
    if spec.schedule is not None:
        schedule = Schedule.parse(spec.schedule)
        # Interval runs keep their rhythm from the run's start; a late run goes at once.
        after = record.started if schedule.interval is not None and record.started else now
        record.next_run = max(schedule.next_run(after), now)
        return "scheduled"
    if spec.restart == "always" or (spec.restart == "on-failure" and not result.ok):
        return "restarting"
    return "stopped" if result.ok else "failed"


def end_record(record: JobRecord, result: JobResult, now: datetime) -> None:
    """Record how a run ended and move the job to its next state."""
    record.ended = now
    record.last_result = result
    record.pid = record.pid_started = None
    record.kernel_pid = record.kernel_pid_started = None
    record.state = state_after_exit(record, result, now)


def finish_run(root: Path, name: str, run_id: str, result: JobResult) -> JobRecord | None:
    """Called by the runner at its end; ignored when a newer run owns the record."""
    with edit_record(name, root) as record:
        if record.run_id != run_id or record.pid is None:
            return None
        end_record(record, result, now_utc())
        # Under the lock, so the line comes before anything the supervisor does next.
        lifecycle(record, root, f"run ended: {result.message}; now {record.state}")
        return record


def reconcile(record: JobRecord, root: Path) -> bool:
    """A live state whose runner is gone (killed, reboot) becomes an ended run. Caller holds the lock.

    Processes the run left behind are ended first, so a restart never runs twice.
    """
    if not run_is_gone(record):
        return False
    if record.run_id:
        end_run(record.run_id, None, grace_seconds=1.0)
    end_record(record, JobResult(False, None, _NO_REPORT), now_utc())
    lifecycle(record, root, f"{_NO_REPORT}; now {record.state}")
    return True


def start_job(name: str, root: Path, spec: JobSpec | None) -> JobRecord:
    """Start a job (creating it from ``spec``); cron-scheduled jobs wait for their first time."""
    with edit_record(name, root, create=spec) as record:
        reconcile(record, root)  # a stale "running" ends (and its leftovers with it) before a new run
        if record.state in LIVE_STATES and is_run_alive(record):
            raise JobStateError(
                name, f"is already {record.state} (pid {record.pid}).", "Stop it first, or pick another name."
            )
        if spec is not None:
            record.spec = spec
        record.quick_exits, record.restart_at = 0, None
        if record.spec.schedule is not None:
            first = Schedule.parse(record.spec.schedule).first_run(now_utc())
            if first > now_utc():
                record.state, record.next_run = "scheduled", first
                lifecycle(record, root, f"scheduled; first run at {first.isoformat()}")
                return record
        launch_run(record, root, reason="started")
        return record


def stop_job(name: str, root: Path, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> JobRecord:
    """Stop for good (sticky): SIGTERM to every process of the run, SIGKILL after the grace period."""
    with edit_record(name, root) as record:
        was = record.state
        record.state, record.next_run, record.restart_at = "stopped", None, None
        run_id, group = record.run_id, run_identity(record)
        if was != "stopped":
            lifecycle(record, root, f"stop requested (was {was})")
    if run_id is None or was not in LIVE_STATES:
        return record
    # Outside the lock: the runner needs it to record its own result.
    end_run(run_id, group, grace_seconds)
    with edit_record(name, root) as record:
        if record.run_id == run_id and record.pid is not None:
            end_record(record, JobResult(False, None, "stopped; killed after the grace period"), now_utc())
        return record


def pause_job(name: str, root: Path) -> JobRecord:
    """Freeze a running job (SIGSTOP) or hold a scheduled one."""
    with edit_record(name, root) as record:
        reconcile(record, root)
        if record.state == "running" and is_run_alive(record) and record.run_id:
            leader = run_identity(record)
            # The runner itself keeps running: frozen while holding a lock, it would block everyone.
            signal_run(record.run_id, leader, signal.SIGSTOP, exclude_pid=record.pid)
        elif record.state != "scheduled":
            raise JobStateError(name, f"is {record.state}; only running or scheduled jobs pause.")
        record.state = "paused"
        lifecycle(record, root, "paused")
        return record


def resume_job(name: str, root: Path) -> JobRecord:
    """Continue a paused job: SIGCONT to its processes, or back to its schedule."""
    with edit_record(name, root) as record:
        if record.state != "paused":
            raise JobStateError(name, f"is {record.state}, not paused.")
        if is_run_alive(record) and record.run_id:
            signal_run(record.run_id, run_identity(record), signal.SIGCONT)
            record.state = "running"
        elif record.spec.schedule is not None:
            record.state = "scheduled"
            record.next_run = Schedule.parse(record.spec.schedule).next_run(now_utc())
        else:
            reconcile(record, root)
        lifecycle(record, root, f"resumed; now {record.state}")
        return record


def delete_job(name: str, root: Path, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
    """Stop the job if it runs, then remove its directory (record and logs)."""
    stop_job(name, root, grace_seconds)
    with record_lock(name, root):
        delete_job_dir(name, root)
