"""R7: job names and paths. Hostile names are refused before any file is touched; links that
lead out of the jobs directory are refused; no file operation lands outside it (audit hooks)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mrsm_jupyter import Job, get_jobs
from mrsm_jupyter.jobs.errors import InvalidJobNameError, JobPathError
from mrsm_jupyter.jobs.logs import JobLog
from mrsm_jupyter.jobs.model import delete_job_dir, list_job_names, load_record
from mrsm_jupyter.jobs.names import job_dir, job_file, validate_job_name

HOSTILE = [
    "..",
    ".",
    "../escape",
    "../../etc/passwd",
    "/etc/passwd",
    "/tmp/x",
    "x/../../y",
    "..\\windows",
    "%2e%2e",
    "%2e%2e%2fetc",
    "..%2f..%2fetc",
    "a\x00b",
    "line\nbreak",
    "tab\there",
    "",
    " ",
    "a" * 65,
    "CON",
    "nul.txt",
    ".hidden",
    "-rf",
    "caf\u00e9",
    "a b",
    "~root",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(InvalidJobNameError) as caught:
        Job(name, command=["true"])
    message = str(caught.value)
    assert message.startswith(f"job {name[:80]!r}:")
    assert "letters, digits" in message
    assert "\n" not in message and "\x00" not in message


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("..", "'..'"),
        ("a/b", "path separator"),
        ("/abs", "path separator"),
        ("a\x00", "control character"),
        ("%2e%2e", "'%'"),
        ("", "empty"),
        ("a" * 65, "65 characters"),
        ("com1", "reserved"),
        ("-x", "does not start with a letter or digit"),
    ],
)
def test_the_message_gives_the_specific_reason(name: str, reason: str) -> None:
    with pytest.raises(InvalidJobNameError) as caught:
        validate_job_name(name)
    assert reason in str(caught.value)


def test_non_string_names_are_refused() -> None:
    with pytest.raises(InvalidJobNameError):
        validate_job_name(Path("x"))


@pytest.mark.parametrize("name", ["sync-temperature", "a", "Job_1.v2", "x" * 64, "2024.report"])
def test_valid_names_stay_inside_the_jobs_dir(jobs_root: Path, name: str) -> None:
    path = job_dir(name, jobs_root)
    assert path.parent == (jobs_root / "jobs").resolve()
    assert path.name == name


def test_only_known_job_files_can_be_named(jobs_root: Path) -> None:
    with pytest.raises(ValueError, match="not a job file"):
        job_file("ok", "../../outside", jobs_root)


class AuditRecorder:
    """Records the paths of file operations (Python audit events) while active."""

    EVENTS = frozenset(
        {
            "open",
            "os.mkdir",
            "os.remove",
            "os.rmdir",
            "os.rename",
            "os.symlink",
            "os.link",
            "os.listdir",
            "os.scandir",
            "os.truncate",
            "os.chmod",
            "os.chown",
            "os.utime",
            "shutil.rmtree",
            "shutil.copyfile",
        }
    )
    active: AuditRecorder | None = None
    installed = False

    def __init__(self) -> None:
        self.paths: list[tuple[str, str]] = []

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        recorder = cls.active
        if recorder is None or event not in cls.EVENTS:
            return
        for arg in args[:2] if event in ("os.rename", "os.link", "os.symlink") else args[:1]:
            if isinstance(arg, str | bytes | os.PathLike):
                recorder.paths.append((event, os.fsdecode(arg)))

    @contextmanager
    def recording(self) -> Iterator[AuditRecorder]:
        if not AuditRecorder.installed:
            sys.addaudithook(AuditRecorder.hook)  # hooks cannot be removed; inactive outside this block
            AuditRecorder.installed = True
        AuditRecorder.active = self
        try:
            yield self
        finally:
            AuditRecorder.active = None

    def outside(self, allowed: list[Path]) -> list[tuple[str, str]]:
        """Operations on paths outside ``allowed`` (imports of Python's own files aside)."""
        python_dirs = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, *sys.path} if p]
        found = []
        for event, raw in self.paths:
            path = Path(os.path.abspath(raw))
            if any(path == a or path.is_relative_to(a) for a in allowed):
                continue
            if event == "open" and any(path.is_relative_to(d) for d in python_dirs if d != Path("/")):
                continue
            if raw.startswith(("/proc/", "/dev/null", "/sys/")):
                continue
            found.append((event, raw))
        return found


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes() if path.is_file() else b"<dir>"
        for path in sorted(directory.rglob("*"))
    }


@pytest.fixture
def planted(jobs_root: Path, tmp_path: Path) -> Path:
    """An outside directory with a job-looking record, and links into it from the jobs dir."""
    outside = tmp_path / "outside"
    outside.mkdir()
    record = {"version": 1, "name": "evil", "state": "stopped", "spec": {"kind": "command", "argv": ["true"]}}
    (outside / "job.json").write_text(json.dumps(record))
    (outside / "secret.txt").write_text("do not touch")
    jobs = jobs_root / "jobs"
    jobs.mkdir(exist_ok=True)
    (jobs / "evil").symlink_to(outside, target_is_directory=True)
    Job("good", command=["true"], root=jobs_root).spec  # noqa: B018  (valid spec, nothing written)
    (jobs / "good").mkdir()
    (jobs / "good" / "job.json").write_text(json.dumps({**record, "name": "good"}))
    (jobs / "good" / "job.log").symlink_to(outside / "secret.txt")
    (jobs / "plain").mkdir()
    (jobs / "plain" / "job.json").symlink_to(outside / "job.json")
    return outside


def _attempts(name: str) -> list[Any]:
    return [
        lambda: Job(name, command=["true"]).start(),
        lambda: Job(name).status,
        lambda: Job(name).stop(),
        lambda: Job(name).delete(),
        lambda: Job(name).logs.tail(5),
        lambda: JobLog.for_job(name).write("x"),
        lambda: load_record(name),
    ]


def test_no_file_operation_leaves_the_jobs_dir(jobs_root: Path, planted: Path) -> None:
    before = _snapshot(planted)
    recorder = AuditRecorder()
    refused = 0
    with recorder.recording():
        for name in [*HOSTILE, "evil"]:
            for attempt in _attempts(name):
                with pytest.raises((InvalidJobNameError, JobPathError)):
                    attempt()
                refused += 1
        # "plain" has its record replaced by a link: everything reading the record refuses.
        for attempt in _attempts("plain")[:4] + _attempts("plain")[6:]:
            with pytest.raises(JobPathError):
                attempt()
        # "good" is a real job whose log was replaced by a link: everything touching the log refuses.
        for attempt in _attempts("good")[:1] + _attempts("good")[4:6]:
            with pytest.raises(JobPathError):
                attempt()
        listed = get_jobs()
        Job("good").delete()  # unlinks the planted link, never its target
    assert refused == (len(HOSTILE) + 1) * 7
    assert sorted(listed) == ["good"]
    assert not (jobs_root / "jobs" / "good").exists()
    jobs = (jobs_root / "jobs").resolve()
    assert recorder.paths, "the audit hook saw nothing; the test would prove nothing"
    assert recorder.outside([jobs, jobs_root.resolve()]) == []
    assert _snapshot(planted) == before


def test_a_log_replaced_by_a_link_is_refused_at_write_time(jobs_root: Path, tmp_path: Path) -> None:
    log = JobLog.for_job("later", jobs_root)
    log.write("first line")
    target = tmp_path / "target.txt"
    target.write_text("unchanged")
    log.path.unlink()
    log.path.symlink_to(target)
    with pytest.raises(JobPathError):
        log.write("second line")
    with pytest.raises(JobPathError):
        log.tail()
    assert target.read_text() == "unchanged"


def test_deleting_a_job_dir_unlinks_links_but_never_their_targets(jobs_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "keep"
    outside.mkdir()
    (outside / "data.txt").write_text("keep me")
    directory = job_dir("victim", jobs_root, create=True)
    (directory / "job.json").write_text("{}")
    (directory / "sneaky").symlink_to(outside, target_is_directory=True)
    delete_job_dir("victim", jobs_root)
    assert not directory.exists()
    assert (outside / "data.txt").read_text() == "keep me"
    assert "victim" not in list_job_names(jobs_root)
