"""What runs inside a job's runner process: a command (or action) or a background kernel.

An executor runs one run to its end and answers a :class:`JobResult`; ``request_stop`` is
called from the runner's SIGTERM handler and must return at once.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeAlias

from mrsm_jupyter.jobs.logs import JobLog
from mrsm_jupyter.jobs.model import JobRecord, JobResult
from mrsm_jupyter.jobs.processes import ProcessIdentity

_READ_SIZE = 64 * 1024
_POLL_SECONDS = 0.1
# Called with the kernel id and the kernel's process once a kernel job's kernel is up.
KernelCallback: TypeAlias = Callable[[str, ProcessIdentity], None]


class Executor(Protocol):
    def run(self, log: JobLog) -> JobResult: ...

    def request_stop(self) -> None: ...


def action_argv(words: Sequence[str]) -> list[str]:
    """The command line of an action job: the CLI of this very interpreter."""
    return [sys.executable, "-m", "mrsm_jupyter.cli", *words]


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class ProcessExecutor:
    """Runs ``argv`` as a child in the runner's process group, its output going to the log."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env)
        self._child: subprocess.Popen[bytes] | None = None

    def run(self, log: JobLog) -> JobResult:
        try:
            self._child = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
            )
        except OSError as exc:
            return JobResult(False, None, f"could not start {self.argv[0]!r}: {exc}")
        assert self._child.stdout is not None
        _copy_lines(self._child.stdout.fileno(), log, self._child)
        code = self._child.wait()
        return JobResult(code == 0, code, describe_exit(code))

    def request_stop(self) -> None:
        # The whole group usually got SIGTERM already; this covers a SIGTERM sent to the runner alone.
        if self._child is not None and self._child.poll() is None:
            self._child.send_signal(signal.SIGTERM)


def _copy_lines(fd: int, log: JobLog, child: subprocess.Popen[bytes]) -> None:
    """Copy the child's output into the log, whole lines at a time, until the child has exited.

    Not until EOF: a process the child left behind may hold the pipe open for ever.
    """
    pending = b""
    while True:
        readable, _, _ = select.select([fd], [], [], _POLL_SECONDS)
        data = os.read(fd, _READ_SIZE) if readable else b""
        if readable and not data:
            break  # EOF: nobody holds the pipe any more
        if not data and child.poll() is not None:
            break  # the child is gone and nothing is waiting to be read
        *complete, pending = (pending + data).split(b"\n")
        if len(pending) > _READ_SIZE:  # a line without end must not grow without bound
            complete.append(pending)
            pending = b""
        if complete:
            log.write_lines(line.decode("utf-8", errors="replace").rstrip("\r") for line in complete)
    if pending:
        log.write_lines([pending.decode("utf-8", errors="replace")])


def executor_for(
    record: JobRecord, *, root: Path, env: Mapping[str, str], on_kernel: KernelCallback
) -> Executor:
    """The executor of a record's kind. Kernel jobs import jupyter_client only when they run."""
    spec = record.spec
    cwd = Path(spec.cwd) if spec.cwd else Path.cwd()
    if spec.kind == "command":
        return ProcessExecutor(spec.argv, cwd=cwd, env=env)
    if spec.kind == "action":
        return ProcessExecutor(action_argv(spec.argv), cwd=cwd, env=env)
    from mrsm_jupyter.jobs.kernel import KernelExecutor  # noqa: PLC0415  (heavy, kernel jobs only)

    return KernelExecutor.for_record(record, root=root, cwd=cwd, on_kernel=on_kernel)
