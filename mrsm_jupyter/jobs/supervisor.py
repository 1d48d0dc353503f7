"""The supervisor: one daemon per root that restarts, schedules and restores jobs (pm2's daemon).

``python -m mrsm_jupyter.jobs.supervisor`` (``jupyter mrsm supervisor``) holds
``<root>/supervisor/supervisor.lock`` while it runs, so a second one exits at once. Jobs are
not its children: it watches their records and their runners (pid + start time), so it can be
killed and started again without touching running jobs. Its loop:

- a live state whose runner is gone becomes an ended run (``reconcile``);
- ``restarting`` jobs start again after their backoff, or turn ``failed`` after too many quick exits;
- ``scheduled`` jobs start when their time comes;
- ``stopped`` jobs are left alone: a manual stop sticks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from datetime import datetime, timedelta
from logging.handlers import RotatingFileHandler
from pathlib import Path

import psutil
from filelock import FileLock, Timeout

from mrsm_jupyter.config import ROOT_ENV, root_dir
from mrsm_jupyter.jobs.backoff import RestartBackoff
from mrsm_jupyter.jobs.control import (
    JOB_ENV,
    LIVE_STATES,
    is_run_alive,
    launch_run,
    lifecycle,
    now_utc,
    reconcile,
    run_is_gone,
)
from mrsm_jupyter.jobs.errors import SupervisorRunningError
from mrsm_jupyter.jobs.model import JobRecord, JobResult, edit_record, list_job_names, load_record
from mrsm_jupyter.jobs.names import supervisor_dir
from mrsm_jupyter.jobs.processes import RUN_ENV, ProcessIdentity, spawn_detached
from mrsm_jupyter.jobs.systemd import enable_instructions, install_systemd_unit

logger = logging.getLogger(__name__)
SUPERVISOR_MODULE = "mrsm_jupyter.jobs.supervisor"
_LOCK_WAIT_SECONDS = 1.0  # rides over a caller briefly testing the lock (running_supervisor)


class JobSupervisor:
    """Watches every job under ``root``; see the module docstring for what it does each pass."""

    def __init__(
        self, root: Path | None = None, *, backoff: RestartBackoff | None = None, poll_seconds: float = 0.5
    ) -> None:
        self.root = (root if root is not None else root_dir()).resolve()
        self.backoff = backoff if backoff is not None else RestartBackoff()
        self.poll_seconds = poll_seconds

    def run(self, stop: threading.Event | None = None) -> None:
        """Hold the lock and loop until ``stop`` is set. Raises :class:`SupervisorRunningError`."""
        stop = stop if stop is not None else threading.Event()
        lock = FileLock(supervisor_dir(self.root) / "supervisor.lock", thread_local=False)
        try:
            lock.acquire(timeout=_LOCK_WAIT_SECONDS)
        except Timeout:
            holder = running_supervisor(self.root)
            pid = holder.pid if holder else "unknown"
            raise SupervisorRunningError(
                f"a supervisor (pid {pid}) already watches {self.root}; stop it first to start another."
            ) from None
        try:
            _write_pid_file(self.root)
            logger.info("supervising jobs under %s", self.root)
            self.restore()
            while not stop.is_set():
                due = self.tick(now_utc())
                stop.wait(self._wait_seconds(due))
        finally:
            lock.release()

    def _wait_seconds(self, due: datetime | None) -> float:
        if due is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due - now_utc()).total_seconds()))

    def restore(self) -> list[str]:
        """At start: jobs that were running before the machine restarted run again (pm2's resurrect).

        Jobs still alive are simply watched again (re-attached); the others are left to ``tick``.
        """
        boot = psutil.boot_time()
        restored = []
        for name in list_job_names(self.root):
            try:
                if self._resurrect(name, boot):
                    restored.append(name)
            except Exception:
                logger.exception("restoring job %r failed", name)
        return restored

    def _resurrect(self, name: str, boot: float) -> bool:
        record = load_record(name, self.root)
        if record.state not in LIVE_STATES or record.pid_started is None or record.pid_started >= boot:
            return False
        with edit_record(name, self.root) as record:
            if record.state not in LIVE_STATES or is_run_alive(record):
                return False
            record.quick_exits = 0
            launch_run(record, self.root, reason="restored after the machine restarted")
            return True

    def tick(self, now: datetime) -> datetime | None:
        """One pass over every job; returns the earliest time something is due next."""
        due: list[datetime] = []
        for name in list_job_names(self.root):
            try:
                record = self._check(name, now)
            except Exception:
                # One broken job (bad JSON, a vanished directory) must not stop the others.
                logger.exception("checking job %r failed", name)
                continue
            # Only waiting states count: a paused schedule keeps a next_run that must not wake the loop.
            if record is not None and record.state == "restarting" and record.restart_at is not None:
                due.append(record.restart_at)
            if record is not None and record.state == "scheduled" and record.next_run is not None:
                due.append(record.next_run)
        return min(due) if due else None

    def _check(self, name: str, now: datetime) -> JobRecord | None:
        record = load_record(name, self.root)
        if not self._wants_attention(record, now):
            return record
        with edit_record(name, self.root) as record:
            reconcile(record, self.root)
            if record.state == "restarting":
                self._restart_when_due(record, now)
            elif record.state == "scheduled" and (record.next_run is None or record.next_run <= now):
                launch_run(record, self.root, reason="scheduled")
            return record

    def _wants_attention(self, record: JobRecord, now: datetime) -> bool:
        if record.state in LIVE_STATES:
            return run_is_gone(record)
        if record.state == "restarting":
            return record.restart_at is None or record.restart_at <= now
        return record.state == "scheduled" and (record.next_run is None or record.next_run <= now)

    def _restart_when_due(self, record: JobRecord, now: datetime) -> None:
        if record.restart_at is None and not self._plan_restart(record, now):
            return
        if record.restart_at is not None and record.restart_at <= now:
            launch_run(record, self.root, reason=f"restart after {record.quick_exits} quick exit(s)")

    def _plan_restart(self, record: JobRecord, now: datetime) -> bool:
        """Count the exit, then set when to restart; False when giving up (state ``failed``)."""
        ended = record.ended or now
        uptime = (ended - record.started).total_seconds() if record.started else 0.0
        record.quick_exits = record.quick_exits + 1 if self.backoff.is_quick(uptime) else 0
        last = record.last_result
        if self.backoff.gives_up(record.quick_exits):
            record.state = "failed"
            message = (
                f"gave up after {record.quick_exits} quick exits in a row (each under "
                f"{self.backoff.stable_seconds:g} s); last: {last.message if last else 'unknown'}. "
                "Fix the job, then start it again."
            )
            record.last_result = JobResult(False, last.exit_code if last else None, message)
            lifecycle(record, self.root, message)
            return False
        delay = self.backoff.delay(record.quick_exits)
        record.restart_at = ended + timedelta(seconds=delay)
        lifecycle(
            record, self.root, f"restarting in {delay:g} s (quick exits in a row: {record.quick_exits})"
        )
        return True


def _write_pid_file(root: Path) -> None:
    me = ProcessIdentity.of(os.getpid())
    data = {"pid": me.pid, "started": me.started, "root": str(root), "python": sys.executable}
    path = supervisor_dir(root) / "supervisor.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def running_supervisor(root: Path | None = None) -> ProcessIdentity | None:
    """The supervisor watching ``root``, or None. The lock says whether one runs; the pid file, which."""
    root = root if root is not None else root_dir()
    lock = FileLock(supervisor_dir(root) / "supervisor.lock", thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            data = json.loads((supervisor_dir(root) / "supervisor.json").read_text())
            identity = ProcessIdentity(int(data["pid"]), float(data["started"]))
        except (OSError, ValueError, KeyError):
            return None
        return identity if identity.is_alive() else None
    lock.release()
    return None


def ensure_supervisor(root: Path | None = None) -> ProcessIdentity:
    """The running supervisor of ``root``, started in the background first if none runs (like pm2)."""
    root = (root if root is not None else root_dir()).resolve()
    current = running_supervisor(root)
    if current is not None:
        return current
    # Started from inside a job, it must not carry that job's marks: stopping the job would end it.
    env = {key: value for key, value in os.environ.items() if key not in (RUN_ENV, JOB_ENV)}
    env[ROOT_ENV] = str(root)
    return spawn_detached(
        [sys.executable, "-m", SUPERVISOR_MODULE, "--root", str(root)],
        env=env,
        cwd=supervisor_dir(root),
        stderr_path=supervisor_dir(root) / "supervisor.err",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter mrsm supervisor", description="Restart, schedule and restore the jobs of one root."
    )
    defaults = RestartBackoff()
    parser.add_argument(
        "--root", type=Path, default=None, help="root directory (default: $MRSM_JUPYTER_ROOT)"
    )
    parser.add_argument("--poll-seconds", type=float, default=0.5, help="how often jobs are checked")
    parser.add_argument(
        "--backoff-initial", type=float, default=defaults.initial_seconds, help="first restart delay (s)"
    )
    parser.add_argument(
        "--backoff-cap", type=float, default=defaults.cap_seconds, help="longest restart delay (s)"
    )
    parser.add_argument(
        "--stable-seconds",
        type=float,
        default=defaults.stable_seconds,
        help="a run this long resets the backoff",
    )
    parser.add_argument(
        "--max-quick-exits",
        type=int,
        default=defaults.max_quick_exits,
        help="quick exits in a row before a job is marked failed",
    )
    parser.add_argument("--install-systemd", action="store_true", help="write a systemd user unit and exit")
    parser.add_argument(
        "--unit-path", type=Path, default=None, help="where --install-systemd writes the unit"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``jupyter mrsm supervisor``: run in the foreground until SIGTERM, or write a systemd unit."""
    args = _parser().parse_args(argv)
    root = args.root.resolve() if args.root is not None else root_dir()
    if args.install_systemd:
        path = install_systemd_unit(root, unit_path=args.unit_path)
        print(f"Wrote {path}. Nothing was enabled; to start it now and at every boot, run:")
        print(enable_instructions(path))
        return 0
    backoff = RestartBackoff(
        initial_seconds=args.backoff_initial,
        cap_seconds=args.backoff_cap,
        stable_seconds=args.stable_seconds,
        max_quick_exits=args.max_quick_exits,
    )
    _log_to_file(root)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        JobSupervisor(root, backoff=backoff, poll_seconds=args.poll_seconds).run(stop)
    except SupervisorRunningError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _log_to_file(root: Path) -> None:
    handler = RotatingFileHandler(
        supervisor_dir(root) / "supervisor.log", maxBytes=1024 * 1024, backupCount=2
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler, logging.StreamHandler()])


if __name__ == "__main__":
    sys.exit(main())
