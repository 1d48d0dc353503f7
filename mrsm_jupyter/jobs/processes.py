"""Processes of a job: who they are, how to find all of them, how to signal and end them.

A pid alone is not an identity (pids are reused), so a job's process is its pid *and* its
start time as psutil reports it. Every process a run starts carries ``MRSM_JUPYTER_JOB_RUN`` in
its environment, inherited by its children and by its kernel (which lives in a session of its
own), so stopping a run finds them all, even one that left the process group with ``setsid``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

RUN_ENV = "MRSM_JUPYTER_JOB_RUN"
# psutil's create_time comes from clock ticks (1/100 s); two processes with one pid inside
# the same tick do not happen.
_START_TOLERANCE = 0.011


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as pid plus start time, so that a reused pid is never taken for it."""

    pid: int
    started: float

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity:
        return cls(pid, psutil.Process(pid).create_time())

    def process(self) -> psutil.Process | None:
        """The live process, or None when it ended (zombies count as ended) or the pid was reused."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.started) > _START_TOLERANCE:
                return None
            return None if proc.status() == psutil.STATUS_ZOMBIE else proc
        except psutil.Error:
            return None

    def is_alive(self) -> bool:
        return self.process() is not None


def spawn_detached(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, stderr_path: Path
) -> ProcessIdentity:
    """Start ``argv`` in a new session (its own process group), detached from the caller's terminal."""
    # Truncated: it keeps what the last start wrote outside the log (tracebacks of a crashed runner).
    err_fd = os.open(stderr_path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err_fd,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(err_fd)
    identity = ProcessIdentity.of(proc.pid)  # still our unreaped child: the pid cannot be reused yet
    # Reap it when it ends, so a long-lived caller (a notebook's kernel) collects no zombies.
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return identity


def run_processes(run_id: str, group: ProcessIdentity | None = None) -> list[psutil.Process]:
    """Every live process of a run: those marked with its run id, plus its process group.

    The group is included only while its leader is still the run's process (pid + start time).
    """
    pgid = group.pid if group is not None and group.is_alive() else None
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            in_group = pgid is not None and os.getpgid(proc.pid) == pgid
            ours = in_group or proc.environ().get(RUN_ENV) == run_id
            if ours and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return found


def signal_run(
    run_id: str, group: ProcessIdentity | None, signum: int, *, exclude_pid: int | None = None
) -> int:
    """Send ``signum`` to every process of the run (but ``exclude_pid``); returns how many got it."""
    count = 0
    for proc in run_processes(run_id, group):
        if proc.pid == exclude_pid:
            continue
        try:
            proc.send_signal(signum)
            count += 1
        except psutil.Error:
            continue
    return count


def _group_of(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None


def _is_gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has ended; returns those still alive after ``timeout``.

    Zombies count as ended: an orphan's zombie lasts until init reaps it, which may be never
    in a container (psutil.wait_procs would wait for it).
    """
    deadline = time.monotonic() + timeout
    alive = [proc for proc in procs if not _is_gone(proc)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [proc for proc in alive if not _is_gone(proc)]
    return alive


def end_run(run_id: str, group: ProcessIdentity | None, grace_seconds: float) -> None:
    """SIGTERM the run, SIGKILL what is left after the grace period.

    While the runner lives, SIGTERM goes to its process group only: the runner then shuts its
    kernel down cleanly (a shutdown request) and ends what its command left behind.
    """
    procs = run_processes(run_id, group)
    leader = group.pid if group is not None and group.is_alive() else None
    for proc in procs:
        try:
            if leader is None or _group_of(proc) == leader:
                proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGCONT)  # a paused process acts on nothing until resumed
        except psutil.Error:
            continue
    alive = _wait_gone(procs, grace_seconds)
    # Kill survivors, then look again: a process may have forked while we waited.
    for _ in range(3):
        leftovers = {proc.pid: proc for proc in alive + run_processes(run_id, group)}
        if not leftovers:
            return
        for proc in leftovers.values():
            try:
                proc.kill()
            except psutil.Error:
                continue
        alive = _wait_gone(list(leftovers.values()), 1.0)
