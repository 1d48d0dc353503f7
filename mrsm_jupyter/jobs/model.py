"""What a job runs (:class:`JobSpec`) and where it stands (:class:`JobRecord`), stored as JSON.

Each job is ``<root>/jobs/<name>/job.json``, replaced atomically (a temporary file in the same
directory, then ``os.replace``) so a crash never leaves half a record. Read-modify-write goes
through :func:`edit_record`, which holds the job's lock file, because the API, the job's
runner and the supervisor all update the same record.
"""

from __future__ import annotations

import json
import keyword
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypeVar, cast, get_args

from filelock import FileLock

from mrsm_jupyter.jobs.errors import JobError, JobNotFoundError, JobSpecError, ScheduleError
from mrsm_jupyter.jobs.names import is_valid_job_name, job_dir, job_file, jobs_dir
from mrsm_jupyter.jobs.schedule import Schedule

JobKind = Literal["action", "command", "notebook", "cell"]
RestartPolicy = Literal["always", "on-failure", "never"]
# "restarting": the run ended and the supervisor will start it again after its backoff.
JobState = Literal["running", "paused", "stopped", "failed", "scheduled", "restarting"]
JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"

KINDS: tuple[str, ...] = get_args(JobKind)
RESTART_POLICIES: tuple[str, ...] = get_args(RestartPolicy)
STATES: tuple[str, ...] = get_args(JobState)
RECORD_VERSION = 1
T = TypeVar("T")


@dataclass(frozen=True)
class JobSpec:
    """What a job runs: an action's words, a command's argv, a notebook or a cell's code."""

    kind: JobKind
    argv: tuple[str, ...] = ()
    notebook: str | None = None
    code: str | None = None
    parameters: dict[str, JsonValue] = field(default_factory=dict)
    schedule: str | None = None
    restart: RestartPolicy = "never"
    cwd: str | None = None
    kernel_name: str = "python3"

    def check(self, name: str) -> None:
        """Raise :class:`JobSpecError` naming the job when the spec cannot run."""
        needs = {"action": bool(self.argv), "command": bool(self.argv), "notebook": bool(self.notebook)}
        if self.kind not in KINDS:
            raise JobSpecError(name, f"unknown kind {self.kind!r}.", f"Use one of {KINDS}.")
        if not needs.get(self.kind, self.code is not None):
            raise JobSpecError(name, f"a {self.kind} job needs what to run.", "Pass argv, notebook or code.")
        if self.restart not in RESTART_POLICIES:
            raise JobSpecError(name, f"unknown restart policy {self.restart!r}.", f"Use {RESTART_POLICIES}.")
        if self.parameters and self.kind not in ("notebook", "cell"):
            raise JobSpecError(name, "only notebook and cell jobs take parameters.")
        for key in self.parameters:
            if not key.isidentifier() or keyword.iskeyword(key):
                raise JobSpecError(name, f"parameter {key!r} is not a Python name.", "Rename it.")
        if self.schedule is not None:
            try:
                Schedule.parse(self.schedule)
            except ScheduleError as exc:
                raise JobSpecError(name, str(exc)) from exc


@dataclass(frozen=True)
class JobResult:
    """How a run ended: ``ok``, the exit code of a process (None for kernels) and a message."""

    ok: bool
    exit_code: int | None
    message: str


@dataclass
class JobRecord:
    """A job's spec and state as stored in ``job.json``."""

    name: str
    spec: JobSpec
    state: JobState = "stopped"
    run_id: str | None = None
    pid: int | None = None
    pid_started: float | None = None
    kernel_id: str | None = None
    kernel_pid: int | None = None
    kernel_pid_started: float | None = None
    started: datetime | None = None
    ended: datetime | None = None
    next_run: datetime | None = None
    restart_at: datetime | None = None
    last_result: JobResult | None = None
    runs: int = 0
    quick_exits: int = 0


_TIME_FIELDS = ("started", "ended", "next_run", "restart_at")


def record_to_json(record: JobRecord) -> dict[str, Any]:
    spec = record.spec
    data: dict[str, Any] = {"version": RECORD_VERSION, "name": record.name}
    data["spec"] = {
        "kind": spec.kind,
        "argv": list(spec.argv),
        "notebook": spec.notebook,
        "code": spec.code,
        "parameters": spec.parameters,
        "schedule": spec.schedule,
        "restart": spec.restart,
        "cwd": spec.cwd,
        "kernel_name": spec.kernel_name,
    }
    for key in ("state", "run_id", "pid", "pid_started", "kernel_id", "kernel_pid", "kernel_pid_started"):
        data[key] = getattr(record, key)
    for key in _TIME_FIELDS:
        value = getattr(record, key)
        data[key] = value.isoformat() if value is not None else None
    result = record.last_result
    data["last_result"] = None if result is None else vars(result).copy()
    data["runs"], data["quick_exits"] = record.runs, record.quick_exits
    return data


def spec_from_json(name: str, data: Mapping[str, Any]) -> JobSpec:
    try:
        spec = JobSpec(
            kind=data["kind"],
            argv=tuple(str(arg) for arg in data.get("argv") or ()),
            notebook=data.get("notebook"),
            code=data.get("code"),
            parameters=dict(data.get("parameters") or {}),
            schedule=data.get("schedule"),
            restart=data.get("restart", "never"),
            cwd=data.get("cwd"),
            kernel_name=str(data.get("kernel_name") or "python3"),
        )
    except (KeyError, TypeError) as exc:
        raise JobSpecError(
            name, f"the stored spec is malformed ({exc!r}).", "Delete and recreate the job."
        ) from exc
    spec.check(name)
    return spec


def record_from_json(name: str, data: Mapping[str, Any]) -> JobRecord:
    """Rebuild a record, refusing one whose name, state or fields do not fit."""
    if data.get("name") != name or data.get("state") not in STATES:
        raise JobError(name, "job.json does not describe this job.", "Delete the job and create it again.")
    try:
        return _record_fields(name, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise JobError(
            name, f"job.json is malformed ({exc!r}).", "Delete the job and create it again."
        ) from exc


def _record_fields(name: str, data: Mapping[str, Any]) -> JobRecord:
    record = JobRecord(name=name, spec=spec_from_json(name, data.get("spec") or {}))
    record.state = cast(JobState, data["state"])
    record.run_id, record.kernel_id = _optional(data, "run_id", str), _optional(data, "kernel_id", str)
    record.pid, record.kernel_pid = _optional(data, "pid", int), _optional(data, "kernel_pid", int)
    record.pid_started = _optional(data, "pid_started", float)
    record.kernel_pid_started = _optional(data, "kernel_pid_started", float)
    for key in _TIME_FIELDS:
        value = data.get(key)
        setattr(record, key, datetime.fromisoformat(value) if value else None)
    result = data.get("last_result")
    if result:
        record.last_result = JobResult(bool(result["ok"]), result.get("exit_code"), str(result["message"]))
    record.runs, record.quick_exits = int(data.get("runs", 0)), int(data.get("quick_exits", 0))
    return record


def _optional(data: Mapping[str, Any], key: str, kind: Callable[[Any], T]) -> T | None:
    value = data.get(key)
    return None if value is None else kind(value)


def load_record(name: str, root: Path | None = None) -> JobRecord:
    """The stored record of ``name``; :class:`JobNotFoundError` when there is none."""
    path = job_file(name, "job.json", root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobNotFoundError(name, "no such job.", "See `show jobs` for the jobs that exist.") from None
    try:
        return record_from_json(name, json.loads(text))
    except json.JSONDecodeError as exc:
        raise JobError(
            name, f"job.json is not valid JSON ({exc}).", "Delete the job and create it again."
        ) from exc


def save_record(record: JobRecord, root: Path | None = None) -> None:
    """Write the record atomically (never a torn ``job.json``)."""
    path = job_file(record.name, "job.json", root, create_dir=True)
    text = json.dumps(record_to_json(record), indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".job.json.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_lock(name: str, root: Path | None = None) -> FileLock:
    # A fresh, non-thread-local lock object per use: flock then excludes other threads too.
    return FileLock(job_file(name, "job.lock", root, create_dir=True), thread_local=False)


@contextmanager
def edit_record(name: str, root: Path | None = None, *, create: JobSpec | None = None) -> Iterator[JobRecord]:
    """Load, let the caller change, and save the record under the job's lock.

    With ``create``, a missing job is created with that spec (state ``stopped``).
    """
    if create is None:
        load_record(name, root)  # a missing job raises here, before its lock file is created
    with record_lock(name, root):
        try:
            record = load_record(name, root)
        except JobNotFoundError:
            if create is None:
                raise
            record = JobRecord(name=name, spec=create)
        before = replace(record)
        yield record
        if record != before or not job_file(name, "job.json", root).exists():
            save_record(record, root)


def _is_plain_file(path: Path) -> bool:
    """A regular file that is not a link (``Path.is_file`` follows links)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def list_job_names(root: Path | None = None) -> list[str]:
    """Names of the stored jobs, sorted. Links and entries with invalid names are skipped."""
    base = jobs_dir(root)
    names = []
    for entry in os.scandir(base):
        valid = is_valid_job_name(entry.name) and entry.is_dir(follow_symlinks=False)
        if valid and _is_plain_file(Path(entry.path) / "job.json"):
            names.append(entry.name)
    return sorted(names)


def build_spec(
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
) -> JobSpec:
    """A checked spec from exactly one of ``action``, ``command``, ``notebook`` or ``code``."""
    given = {"action": action, "command": command, "notebook": notebook, "cell": code}
    kinds = [kind for kind, value in given.items() if value is not None]
    if len(kinds) != 1:
        raise JobSpecError(name, f"give exactly one of action, command, notebook or code (got {kinds}).")
    kind = cast(JobKind, kinds[0])
    workdir = Path(cwd) if cwd is not None else Path.cwd()
    notebook_path = str((workdir / notebook).resolve()) if notebook is not None else None
    if notebook_path is not None and not Path(notebook_path).is_file():
        raise JobSpecError(name, f"notebook {notebook_path} does not exist.", "Check the path.")
    spec = JobSpec(
        kind=kind,
        argv=tuple(str(arg) for arg in (action or command or ())),
        notebook=notebook_path,
        code=code,
        parameters=dict(parameters or {}),
        schedule=schedule,
        restart=restart,
        cwd=str(workdir.resolve()),
    )
    spec.check(name)
    return spec


def delete_job_dir(name: str, root: Path | None = None) -> None:
    """Remove a job's directory without following links inside it."""
    directory = job_dir(name, root)
    if not directory.exists():
        raise JobNotFoundError(name, "no such job.")
    for entry in os.scandir(directory):
        # Only plain files live here; unlink removes a planted link itself, never its target.
        if entry.is_dir(follow_symlinks=False):
            raise JobError(name, f"{entry.path} is an unexpected directory.", "Remove it by hand.")
        os.unlink(entry.path)
    os.rmdir(directory)
