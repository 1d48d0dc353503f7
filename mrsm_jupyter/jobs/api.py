"""The Python API of background jobs: :class:`Job`, :func:`get_jobs`, :func:`save_jobs`, :func:`restore_jobs`.

>>> job = Job("temps", action=["sync", "pipes", "-m", "temperature"], schedule="every 10 minutes")
>>> job.start()  # doctest: +SKIP
>>> job.status, job.logs.tail(3)  # doctest: +SKIP
('running', [...])

The CLI (``jupyter mrsm``), the magics and the jobs widget are thin shells over these calls.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mrsm_jupyter.config import root_dir
from mrsm_jupyter.jobs import control
from mrsm_jupyter.jobs.control import DEFAULT_GRACE_SECONDS, LIVE_STATES, is_run_alive
from mrsm_jupyter.jobs.errors import JobError, JobNotFoundError, JobTimeoutError
from mrsm_jupyter.jobs.logs import JobLog
from mrsm_jupyter.jobs.model import (
    JobRecord,
    JobResult,
    JobSpec,
    JobState,
    JsonValue,
    RestartPolicy,
    build_spec,
    edit_record,
    list_job_names,
    load_record,
    record_from_json,
    record_to_json,
)
from mrsm_jupyter.jobs.names import is_valid_job_name, job_file, supervisor_dir, validate_job_name
from mrsm_jupyter.jobs.supervisor import ensure_supervisor

logger = logging.getLogger(__name__)
DUMP_FILENAME = "dump.json"
_SUPERVISED_STATES = ("running", "paused", "restarting", "scheduled")


def _needs_supervisor(spec: JobSpec) -> bool:
    return spec.schedule is not None or spec.restart != "never"


class Job:
    """A named background job: an action, a command, a notebook or a cell's code.

    Give what it runs to create it (exactly one of ``action``, ``command``, ``notebook``,
    ``code``); give only the name to use a job that exists. Nothing touches the disk until a
    method is called. Starting a job that has a schedule or a restart policy also starts the
    supervisor of its root, if none runs.
    """

    def __init__(
        self,
        name: str,
        *,
        action: Sequence[str] | None = None,
        command: Sequence[str] | None = None,
        notebook: str | os.PathLike[str] | None = None,
        code: str | None = None,
        parameters: Mapping[str, JsonValue] | None = None,
        schedule: str | None = None,
        restart: RestartPolicy = "never",
        cwd: str | os.PathLike[str] | None = None,
        root: Path | None = None,
    ) -> None:
        self.name = validate_job_name(name)
        self._root = root
        given = (action, command, notebook, code)
        self.spec: JobSpec | None = None
        if any(value is not None for value in given):
            self.spec = build_spec(
                name,
                action=action,
                command=command,
                notebook=notebook,
                code=code,
                parameters=parameters,
                schedule=schedule,
                restart=restart,
                cwd=cwd,
            )

    @property
    def root(self) -> Path:
        """The root directory the job lives in (``$MRSM_JUPYTER_ROOT`` unless given)."""
        return (self._root if self._root is not None else root_dir()).resolve()

    def __repr__(self) -> str:
        kind = f", kind={self.spec.kind!r}" if self.spec is not None else ""
        return f"Job({self.name!r}{kind})"

    def start(self) -> None:
        """Start a run now (a cron-scheduled job waits for its first time). Raises if it runs."""
        record = control.start_job(self.name, self.root, self.spec)
        if _needs_supervisor(record.spec):
            ensure_supervisor(self.root)

    def stop(self, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        """Stop for good (no restart, no schedule) until started again."""
        control.stop_job(self.name, self.root, grace_seconds)

    def pause(self) -> None:
        """Freeze a running job (its processes wait) or hold a scheduled one; :meth:`resume` continues it."""
        control.pause_job(self.name, self.root)

    def resume(self) -> None:
        """Continue a paused job."""
        control.resume_job(self.name, self.root)

    def restart(self, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        """Stop the job (if it runs) and start it again."""
        control.stop_job(self.name, self.root, grace_seconds)
        self.start()

    def delete(self, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        """Stop the job and remove its record and logs."""
        control.delete_job(self.name, self.root, grace_seconds)

    @property
    def exists(self) -> bool:
        """Whether the job is stored in its root."""
        return job_file(self.name, "job.json", self.root).is_file()

    @property
    def record(self) -> JobRecord:
        """The stored record, brought up to date when its runner ended without reporting."""
        record = load_record(self.name, self.root)
        if control.run_is_gone(record):
            with edit_record(self.name, self.root) as record:
                control.reconcile(record, self.root)
        return record

    @property
    def status(self) -> JobState:
        """``running``, ``scheduled``, ``paused``, ``restarting``, ``stopped`` or ``failed``."""
        return self.record.state

    @property
    def result(self) -> JobResult | None:
        """How the last run ended, or None before the first run ends."""
        return self.record.last_result

    @property
    def logs(self) -> JobLog:
        """The job's log: ``tail(n)`` and ``follow()``."""
        if not self.exists:
            raise JobNotFoundError(self.name, "no such job.", "See `show jobs` for the jobs that exist.")
        return JobLog.for_job(self.name, self.root)

    def wait(self, timeout: float | None = None, poll_seconds: float = 0.05) -> JobResult | None:
        """Wait until the job is neither running nor paused; return the last result."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.record
            if record.state not in LIVE_STATES:
                return record.last_result
            if deadline is not None and time.monotonic() > deadline:
                raise JobTimeoutError(
                    self.name, f"is still {record.state} after {timeout} s.", "Stop it or wait longer."
                )
            time.sleep(poll_seconds)


def get_jobs(root: Path | None = None) -> dict[str, Job]:
    """Every stored job by name."""
    return {name: Job(name, root=root) for name in list_job_names(root)}


def save_jobs(root: Path | None = None) -> Path:
    """Write the job list to ``<root>/supervisor/dump.json`` (pm2 save); returns its path."""
    root = root if root is not None else root_dir()
    jobs = [record_to_json(load_record(name, root)) for name in list_job_names(root)]
    path = supervisor_dir(root) / DUMP_FILENAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"version": 1, "jobs": jobs}, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _dump_entries(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JobNotFoundError("*", f"no saved job list at {path}.", "Run `save jobs` first.") from None
    entries = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise JobError("*", f"{path} does not hold a saved job list.", "Save the jobs again.")
    return [entry for entry in entries if isinstance(entry, dict)]


def restore_jobs(root: Path | None = None) -> list[Job]:
    """Recreate the saved jobs and start those that ran when saved (pm2 resurrect).

    Jobs that run already are left alone, so restoring twice starts nothing twice.
    """
    root = root if root is not None else root_dir()
    restored = []
    for entry in _dump_entries(supervisor_dir(root) / DUMP_FILENAME):
        name = entry.get("name")
        if not isinstance(name, str) or not is_valid_job_name(name):
            logger.warning("skipping a saved job with an invalid name: %r", name)
            continue
        try:
            saved = record_from_json(name, entry)
        except JobError as exc:
            logger.warning("skipping a saved job: %s", exc)
            continue
        with edit_record(name, root, create=saved.spec) as record:
            if record.state in LIVE_STATES and is_run_alive(record):
                continue
            record.spec = saved.spec
        job = Job(name, root=root)
        if saved.state in _SUPERVISED_STATES:
            job.start()
        restored.append(job)
    return restored
