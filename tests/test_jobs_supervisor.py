"""R8: the supervisor as a real process: backoff, give-up, sticky stop, kill -9 and restart,
a reused pid, schedules, one supervisor per root, save/restore and the systemd unit."""

from __future__ import annotations

import configparser
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from jobs_helpers import lines, script, wait_until

from mrsm_jupyter import Job
from mrsm_jupyter.jobs import restore_jobs, save_jobs
from mrsm_jupyter.jobs.model import edit_record
from mrsm_jupyter.jobs.processes import run_processes
from mrsm_jupyter.jobs.supervisor import JobSupervisor, main, running_supervisor

FAST = ["--poll-seconds", "0.05", "--backoff-initial", "0.2", "--backoff-cap", "0.8", "--stable-seconds", "3"]
Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_supervisor(jobs_root: Path) -> Iterator[Start]:
    """Start ``python -m mrsm_jupyter.jobs.supervisor`` with fast timings; killed at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*extra: str, wait: bool = True) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "mrsm_jupyter.jobs.supervisor", "--root", str(jobs_root), *FAST, *extra]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(proc)
        if wait:
            wait_until(
                lambda: (s := running_supervisor(jobs_root)) and s.pid == proc.pid, what="the supervisor"
            )
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.communicate()


RECORDS_RUN = """
import os, sys, time
with open(sys.argv[1], "a") as out:
    out.write(f"{time.time()} {os.getpid()}\\n")
if sys.argv[2] == "fail":
    sys.exit(1)
time.sleep(60)
"""


def _stamp(line: str) -> datetime:
    return datetime.fromisoformat(line.split(maxsplit=1)[0].replace("Z", "+00:00"))


def _job(tmp_path: Path, name: str, mode: str, restart: str, schedule: str | None = None) -> tuple[Job, Path]:
    runs = tmp_path / f"{name}.runs"
    argv = [*script(tmp_path, "records_run", RECORDS_RUN), str(runs), mode]
    return Job(name, command=argv, restart=restart, schedule=schedule), runs  # type: ignore[arg-type]


def test_backoff_doubles_then_the_supervisor_gives_up(start_supervisor: Start, tmp_path: Path) -> None:
    start_supervisor("--max-quick-exits", "4")
    job, runs = _job(tmp_path, "crashy", "fail", "on-failure")
    job.start()
    wait_until(lambda: job.status == "failed", timeout=30, what="giving up")
    times = [float(line.split()[0]) for line in lines(runs)]
    assert len(times) == 4, "exits 1-3 are restarted, the 4th gives up"
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= delay for gap, delay in zip(gaps, [0.2, 0.4, 0.8], strict=True)), gaps
    # Not much longer either: from a run's end to the next start, as the log tells it.
    log = job.logs.tail(100)
    ends = [_stamp(line) for line in log if "run ended" in line]
    starts = [_stamp(line) for line in log if " started (" in line]
    waits = [(start - end).total_seconds() for end, start in zip(ends, starts[1:], strict=False)]
    assert len(waits) == 3 and all(w < d + 1.5 for w, d in zip(waits, [0.2, 0.4, 0.8], strict=True)), waits
    result = job.result
    assert result is not None and "gave up after 4 quick exits" in result.message
    text = "\n".join(log)
    assert "restarting in 0.2 s" in text and "restarting in 0.4 s" in text and "restarting in 0.8 s" in text
    time.sleep(0.5)
    assert len(lines(runs)) == 4, "a failed job stays down"


def test_a_manual_stop_sticks(start_supervisor: Start, tmp_path: Path) -> None:
    start_supervisor()
    job, runs = _job(tmp_path, "steady", "sleep", "always")
    job.start()
    first_pid = int(wait_until(lambda: lines(runs), what="run 1")[0].split()[1])
    os.kill(first_pid, signal.SIGKILL)  # a crash: the supervisor restarts it
    wait_until(lambda: len(lines(runs)) == 2, what="the restart after a crash")
    wait_until(lambda: job.status == "running", what="running again")
    job.stop(grace_seconds=2)
    time.sleep(1.0)  # twenty supervisor passes
    assert len(lines(runs)) == 2 and job.status == "stopped"
    record = job.record
    assert record.run_id is not None and run_processes(record.run_id) == []


def test_kill_9_of_the_supervisor_then_restart(start_supervisor: Start, tmp_path: Path) -> None:
    first = start_supervisor()
    alive, alive_runs = _job(tmp_path, "alive", "sleep", "always")
    crashed, crashed_runs = _job(tmp_path, "crashed", "sleep", "on-failure")
    alive.start()
    crashed.start()
    wait_until(lambda: lines(alive_runs) and lines(crashed_runs), what="both jobs")
    alive_record = alive.record
    first.kill()  # SIGKILL: no cleanup at all
    first.wait()
    crashed_pid = crashed.record.pid
    assert crashed_pid is not None
    os.killpg(crashed_pid, signal.SIGKILL)  # the job dies while nobody watches
    second = start_supervisor()
    wait_until(lambda: len(lines(crashed_runs)) == 2, what="the dead job restarted")
    time.sleep(0.5)
    assert running_supervisor() is not None and running_supervisor().pid == second.pid  # type: ignore[union-attr]
    assert len(lines(alive_runs)) == 1, "the live job was re-attached, not started twice"
    assert alive.record.pid == alive_record.pid and alive.status == "running"
    assert alive_record.run_id is not None and len(run_processes(alive_record.run_id)) == 2  # runner + script
    assert len(lines(crashed_runs)) == 2


def test_a_reused_pid_is_not_taken_for_the_job(start_supervisor: Start, tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        job, runs = _job(tmp_path, "reused", "sleep", "always")
        with edit_record("reused", create=job.spec) as record:
            record.state, record.pid = "running", stranger.pid
            record.pid_started = psutil.Process(stranger.pid).create_time() - 50
        start_supervisor()
        wait_until(lambda: lines(runs), what="the job started for real")
        assert job.record.pid != stranger.pid
        assert stranger.poll() is None, "the stranger was left alone"
    finally:
        stranger.kill()
        stranger.wait()


def test_interval_schedules_fire(start_supervisor: Start, tmp_path: Path) -> None:
    start_supervisor()
    job, runs = _job(tmp_path, "ticker", "fail", "never", schedule="every 1 second")
    job.start()
    wait_until(lambda: len(lines(runs)) >= 3, timeout=10, what="three scheduled runs")
    # Launch times (the log's "run N started" lines): the scripts' own start varies with the load.
    launches = [_stamp(line) for line in job.logs.tail(100) if " started (" in line]
    assert len(launches) >= 3
    assert all((b - a).total_seconds() >= 0.95 for a, b in itertools.pairwise(launches)), launches
    assert job.status in ("scheduled", "running")
    job.stop()
    count = len(lines(runs))
    time.sleep(1.5)
    assert len(lines(runs)) == count, "a stopped schedule does not fire"


def test_cron_jobs_wait_for_their_time(jobs_root: Path) -> None:
    job = Job("nightly", command=["true"], schedule="0 3 * * *")
    job.start()
    record = job.record
    assert record.state == "scheduled" and record.pid is None
    assert record.next_run is not None and record.next_run.minute == 0
    wait_until(running_supervisor, what="the supervisor that a scheduled job starts")
    job.pause()
    assert job.status == "paused", "a paused schedule has no process to lose"
    job.resume()
    assert job.status == "scheduled" and job.record.next_run is not None


def test_only_one_supervisor_per_root(start_supervisor: Start) -> None:
    start_supervisor()
    second = start_supervisor(wait=False)
    _, err = second.communicate(timeout=20)
    assert second.returncode == 1
    assert b"already watches" in err


def test_save_and_restore(start_supervisor: Start, jobs_root: Path, tmp_path: Path) -> None:
    start_supervisor()
    running, running_runs = _job(tmp_path, "server", "sleep", "always")
    idle = Job("idle", command=["true"])
    running.start()
    idle.start()
    idle.wait(timeout=20)
    wait_until(lambda: lines(running_runs), what="the running job")
    path = save_jobs()
    running.delete(grace_seconds=2)
    idle.delete()
    dump = json.loads(path.read_text())
    hostile = {**dump["jobs"][0], "name": "../../escaped"}
    path.write_text(json.dumps({**dump, "jobs": [*dump["jobs"], hostile]}))
    restored = restore_jobs()
    assert sorted(job.name for job in restored) == ["idle", "server"]
    assert not (jobs_root.parent / "escaped").exists(), "a hostile saved name is skipped"
    wait_until(lambda: len(lines(running_runs)) == 2, what="the restored job")
    assert Job("server").status == "running" and Job("idle").status == "stopped"
    pid = Job("server").record.pid
    restore_jobs()  # again: nothing starts twice
    time.sleep(0.3)
    assert Job("server").record.pid == pid and len(lines(running_runs)) == 2
    assert path.name == "dump.json"


def test_jobs_running_before_a_reboot_come_back(jobs_root: Path) -> None:
    job = Job("resurrected", command=[sys.executable, "-c", "import time; time.sleep(30)"])
    with edit_record("resurrected", create=job.spec) as record:
        record.state, record.pid = "running", 999_999
        record.pid_started = psutil.boot_time() - 100  # started before this boot
    assert JobSupervisor(jobs_root).restore() == ["resurrected"]
    assert job.status == "running" and job.record.pid != 999_999
    job.stop(grace_seconds=2)


def test_install_systemd_writes_a_unit_and_enables_nothing(jobs_root: Path, tmp_path: Path) -> None:
    unit = tmp_path / "units" / "mrsm-jupyter-supervisor.service"
    assert main(["--root", str(jobs_root), "--install-systemd", "--unit-path", str(unit)]) == 0
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(unit)
    exec_start = parser["Service"]["ExecStart"]
    assert f'"{sys.executable}"' in exec_start and f'"{jobs_root}"' in exec_start
    assert parser["Service"]["KillMode"] == "process"
    assert parser["Install"]["WantedBy"] == "default.target"
    assert list(unit.parent.iterdir()) == [unit]
    assert running_supervisor(jobs_root) is None


def test_a_paused_schedule_neither_runs_nor_wakes_the_supervisor(jobs_root: Path) -> None:
    job = Job("held", command=["true"], schedule="0 3 * * *")
    with edit_record("held", create=job.spec) as record:
        record.state, record.next_run = "paused", datetime(2020, 1, 1, tzinfo=UTC)
    assert JobSupervisor(jobs_root).tick(datetime.now(UTC)) is None
    assert job.status == "paused" and job.record.runs == 0
