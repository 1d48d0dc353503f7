"""Job names and the only paths built from them.

Meerschaum joins unchecked job names onto a directory; here every path comes from a name that
passed :func:`validate_job_name` and is checked to stay inside ``<root>/jobs/`` after symbolic
links are resolved. Job directories and job files may not be symbolic links at all.

>>> validate_job_name("sync-temperature")
'sync-temperature'
"""

from __future__ import annotations

import re
from pathlib import Path

from mrsm_jupyter.config import root_dir
from mrsm_jupyter.jobs.errors import InvalidJobNameError, JobPathError

MAX_NAME_LENGTH = 64
JOBS_DIRNAME = "jobs"
SUPERVISOR_DIRNAME = "supervisor"
# The only files a job directory holds; anything else is refused, so a caller cannot turn a
# file name into a path either.
JOB_FILES = frozenset(
    {"job.json", "job.lock", "job.log", "job.log.1", "job.log.2", "job.log.lock", "runner.err", "kernel.json"}
)
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Device names that Windows refuses as file names, with or without an extension.
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
_NAME_REMEDY = (
    f"Use at most {MAX_NAME_LENGTH} letters, digits, '-', '_' or '.', starting with a letter or digit "
    "(e.g. 'sync-temperature')."
)


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a job, or None when it can. The specific reasons come first."""
    if not name:
        return "the name is empty."
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is {len(name)} characters long."
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "the name contains a control character (NUL, newline, ...)."
    if "/" in name or "\\" in name:
        return "the name contains a path separator (names are not paths)."
    if ".." in name:
        return "the name contains '..'."
    if "%" in name:
        return "the name contains '%' (encoded names are not decoded)."
    if not _NAME_PATTERN.fullmatch(name):
        return "the name has a character that is not allowed, or does not start with a letter or digit."
    if name.split(".", 1)[0].lower() in _RESERVED:
        return "the name is a reserved device name on Windows."
    return None


def validate_job_name(name: object) -> str:
    """Return ``name`` if it can name a job, else raise :class:`InvalidJobNameError`."""
    if not isinstance(name, str):
        raise InvalidJobNameError(repr(name), "a job name must be a string.", _NAME_REMEDY)
    problem = _name_problem(name)
    if problem is not None:
        raise InvalidJobNameError(name, problem, _NAME_REMEDY)
    return name


def is_valid_job_name(name: str) -> bool:
    return _name_problem(name) is None


def jobs_dir(root: Path | None = None) -> Path:
    """``<root>/jobs``, created if missing, symbolic links resolved once here."""
    base = (root if root is not None else root_dir()) / JOBS_DIRNAME
    base.mkdir(parents=True, exist_ok=True)
    return base.resolve()


def supervisor_dir(root: Path | None = None) -> Path:
    """``<root>/supervisor``: the supervisor's lock, pid file, log and the saved job list."""
    path = (root if root is not None else root_dir()) / SUPERVISOR_DIRNAME
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def _refuse_outside(name: str, path: Path, inside: Path) -> None:
    if path.is_symlink():
        raise JobPathError(
            name,
            f"{path} is a symbolic link ({path.resolve()}).",
            "Job directories and files may not be links; remove it.",
        )
    if not path.resolve().is_relative_to(inside):
        raise JobPathError(name, f"{path} resolves outside {inside}.", "Remove the link that leads out.")


def job_dir(name: str, root: Path | None = None, *, create: bool = False) -> Path:
    """The directory of a validated job name, checked to stay inside ``<root>/jobs``."""
    validate_job_name(name)
    base = jobs_dir(root)
    path = base / name
    _refuse_outside(name, path, base)
    if create:
        # 0o700: job files can hold parameters and output that other users should not read.
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def job_file(name: str, filename: str, root: Path | None = None, *, create_dir: bool = False) -> Path:
    """A file of a job (``job.json``, ``job.log``, ...), refused when it is a link or leads out."""
    if filename not in JOB_FILES:
        raise ValueError(f"{filename!r} is not a job file; expected one of {sorted(JOB_FILES)}")
    directory = job_dir(name, root, create=create_dir)
    path = directory / filename
    _refuse_outside(name, path, directory)
    return path
