"""Timestamped job logs, rotated at a bounded size (pm2's logrotate: ``job.log`` plus 2 older files).

Every line starts with its UTC time, ``2024-05-01T12:00:00.123Z``. Writers take a lock file
for the append and the rotation, because a job's runner, the API and the supervisor all write
lifecycle lines into the same log. Files are opened with ``O_NOFOLLOW``: a log replaced by a
symbolic link is refused instead of written through.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock

from mrsm_jupyter.jobs.errors import JobPathError
from mrsm_jupyter.jobs.names import job_file

MAX_BYTES = 1024 * 1024
MAX_FILES = 3
# One line may not fill a file by itself: longer lines are cut and say by how much.
MAX_LINE_BYTES = 16 * 1024


def timestamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _cut(line: str, limit: int) -> str:
    raw = line.encode("utf-8", errors="replace")
    if len(raw) <= limit:
        return line
    note = f" ... [{len(raw) - limit + 40} more bytes cut]"
    return raw[: limit - 40].decode("utf-8", errors="ignore") + note


def _complete_lines(pending: str, handle: io.TextIOWrapper | None) -> tuple[list[str], str]:
    """Whole lines from ``pending`` plus what ``handle`` has now; the unfinished rest."""
    *complete, rest = (pending + (handle.read() if handle else "")).split("\n")
    return complete, rest


class JobLog:
    """A rotated log file: ``write`` lines, ``tail(n)`` the newest, ``follow()`` new ones.

    >>> log = JobLog.for_job("sync-temperature")  # doctest: +SKIP
    >>> log.tail(5)  # doctest: +SKIP
    """

    def __init__(
        self, path: Path, *, owner: str, max_bytes: int = MAX_BYTES, max_files: int = MAX_FILES
    ) -> None:
        if max_bytes < 256 or max_files < 1:
            raise ValueError("a log needs max_bytes >= 256 and max_files >= 1")
        self.path = path
        self.owner = owner
        self.max_bytes = max_bytes
        self.max_files = max_files
        self._line_limit = min(MAX_LINE_BYTES, max_bytes // 2)

    @classmethod
    def for_job(cls, name: str, root: Path | None = None, *, max_bytes: int = MAX_BYTES) -> JobLog:
        """The log of a job, whose files live in the job's checked directory."""
        path = job_file(name, "job.log", root)
        for extra in ("job.log.1", "job.log.2", "job.log.lock"):
            job_file(name, extra, root)  # refuses planted links before anything is written
        return cls(path, owner=name, max_bytes=max_bytes)

    def paths(self) -> list[Path]:
        """The log files, newest first (``job.log``, ``job.log.1``, ...)."""
        return [self.path] + [self.path.with_name(f"{self.path.name}.{i}") for i in range(1, self.max_files)]

    def _open(self, path: Path, flags: int) -> int:
        try:
            return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if path.is_symlink():
                raise JobPathError(self.owner, f"{path} is a symbolic link.", "Remove it.") from exc
            raise

    def write(self, text: str) -> None:
        """Append the lines of ``text``, each with the current time."""
        self.write_lines(text.splitlines())

    def write_lines(self, lines: Iterable[str], moment: datetime | None = None) -> None:
        stamp = timestamp(moment)
        chunk = "".join(f"{stamp} {_cut(line, self._line_limit)}\n" for line in lines).encode("utf-8")
        if not chunk:
            return
        self.path.parent.mkdir(mode=0o700, exist_ok=True)
        with FileLock(self.path.with_name(self.path.name + ".lock"), thread_local=False):
            # Rotate per piece so that no file passes max_bytes, even for a large chunk.
            for piece in self._pieces(chunk):
                self._rotate_if_needed(len(piece))
                fd = self._open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                try:
                    os.write(fd, piece)
                finally:
                    os.close(fd)

    def _pieces(self, chunk: bytes) -> Iterator[bytes]:
        while len(chunk) > self.max_bytes:
            cut = chunk.rfind(b"\n", 0, self.max_bytes) + 1
            yield chunk[:cut]
            chunk = chunk[cut:]
        yield chunk

    def _rotate_if_needed(self, incoming: int) -> None:
        try:
            size = os.lstat(self.path).st_size
        except FileNotFoundError:
            return
        if size == 0 or size + incoming <= self.max_bytes:
            return
        older = self.paths()
        for newer, older_path in zip(reversed(older[:-1]), reversed(older[1:]), strict=True):
            if os.path.lexists(newer):
                os.replace(newer, older_path)  # moves a planted link itself, never its target

    def _read(self, path: Path) -> str:
        try:
            fd = self._open(path, os.O_RDONLY)
        except FileNotFoundError:
            return ""
        with open(fd, encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read()

    def tail(self, n: int = 20) -> list[str]:
        """The newest ``n`` lines, oldest first, reading older files only when needed."""
        return self._newest(n, self.paths())

    def _newest(self, n: int, paths: list[Path]) -> list[str]:
        lines: list[str] = []
        for path in paths:
            if len(lines) >= n:
                break
            lines = self._read(path).splitlines() + lines
        return lines[-n:] if n > 0 else []

    def follow(
        self,
        *,
        lines: int = 0,
        poll_seconds: float = 0.2,
        stop_when: Callable[[], bool] | None = None,
    ) -> Iterator[str]:
        """Yield the last ``lines`` lines, then each new line as it is written, across rotations.

        Ends when ``stop_when()`` is true and nothing new is left to read; close the generator
        to stop earlier.
        """
        # The file is opened before anything is yielded, so no line written meanwhile is missed.
        handle, inode = self._open_from_start()
        current, pending = _complete_lines("", handle)
        if lines > 0:
            older = self._newest(lines - len(current), self.paths()[1:]) if len(current) < lines else []
            yield from (older + current)[-lines:]
        try:
            while True:
                complete, pending = _complete_lines(pending, handle)
                yield from complete
                if complete:
                    continue
                current_inode = self._inode()
                if current_inode is not None and current_inode != inode:
                    if handle:
                        # Lines written just before the rotation are still in the old file.
                        complete, pending = _complete_lines(pending, handle)
                        yield from complete
                        handle.close()
                    handle, inode = self._open_from_start()
                    continue
                if stop_when is not None and stop_when():
                    # One last read: lines written just before the condition turned true.
                    yield from _complete_lines(pending, handle)[0]
                    return
                time.sleep(poll_seconds)
        finally:
            if handle:
                handle.close()

    def _inode(self) -> int | None:
        try:
            return os.lstat(self.path).st_ino
        except FileNotFoundError:
            return None

    def _open_from_start(self) -> tuple[io.TextIOWrapper | None, int | None]:
        try:
            fd = self._open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None, None
        return open(fd, encoding="utf-8", errors="replace", newline=""), os.fstat(fd).st_ino
