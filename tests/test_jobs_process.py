"""Process jobs with real processes: start, logs, results, stop (no orphans), pause/resume,
a reused pid, a killed runner, delete, and an action through the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jobs_helpers import lines, script, wait_until

from mrsm_jupyter import Job, get_jobs
from mrsm_jupyter.jobs.errors import JobNotFoundError, JobStateError
from mrsm_jupyter.jobs.model import edit_record
from mrsm_jupyter.jobs.processes import run_processes


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_command_job_runs_logs_and_records_its_result(jobs_root: Path, tmp_path: Path) -> None:
    argv = script(tmp_path, "hello", "print('hello from the job')\nprint('second line')\n")
    job = Job("hello", command=argv)
    started = time.monotonic()
    job.start()
    assert time.monotonic() - started < 2.0, "start returns at once"
    assert job.status in ("running", "stopped")
    result = job.wait(timeout=20)
    assert result is not None and result.ok and result.exit_code == 0
    assert job.status == "stopped"
    text = "\n".join(job.logs.tail(20))
    assert "hello from the job" in text and "second line" in text
    assert "[mrsm] run 1 started" in text and "run ended: exited with code 0" in text
    assert list(get_jobs()) == ["hello"]


def test_a_failing_command_ends_failed_with_its_exit_code(jobs_root: Path, tmp_path: Path) -> None:
    job = Job("fails", command=script(tmp_path, "fails", "import sys\nprint('bad input')\nsys.exit(3)\n"))
    job.start()
    result = job.wait(timeout=20)
    assert result is not None and not result.ok and result.exit_code == 3
    assert job.status == "failed"
    assert "exited with code 3" in result.message


def test_a_missing_program_fails_with_a_clear_message(jobs_root: Path) -> None:
    job = Job("missing", command=["/nonexistent/program"])
    job.start()
    result = job.wait(timeout=20)
    assert result is not None and not result.ok and "could not start" in result.message


def test_starting_a_running_job_is_refused(jobs_root: Path) -> None:
    job = Job("sleepy", command=[sys.executable, "-c", "import time; time.sleep(30)"])
    job.start()
    with pytest.raises(JobStateError, match="already running"):
        Job("sleepy", command=["true"]).start()
    job.stop(grace_seconds=2)
    assert job.status == "stopped"


TREE = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
escaped = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.getpid()} {child.pid} {escaped.pid}\\n")
print("tree ready", flush=True)
time.sleep(60)
"""


def test_stop_ends_the_whole_tree_without_orphans(jobs_root: Path, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    job = Job("tree", command=[*script(tmp_path, "tree", TREE), str(pids_file)])
    job.start()
    runner = job.record.pid
    pids = [int(p) for p in wait_until(lambda: lines(pids_file), what="the tree's pids")[0].split()]
    assert runner is not None and all(_alive(pid) for pid in [runner, *pids])
    started = time.monotonic()
    job.stop(grace_seconds=3)
    assert time.monotonic() - started < 3, "everything ended on SIGTERM"
    wait_until(lambda: not any(_alive(pid) for pid in [runner, *pids]), timeout=5, what="no survivors")
    record = job.record
    assert record.state == "stopped" and record.pid is None
    assert record.last_result is not None and "stopped by request" in record.last_result.message


def test_stop_kills_a_job_that_ignores_sigterm(jobs_root: Path, tmp_path: Path) -> None:
    code = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print('stubborn', flush=True)
time.sleep(60)
"""
    job = Job("stubborn", command=script(tmp_path, "stubborn", code))
    job.start()
    wait_until(lambda: any("stubborn" in line for line in job.logs.tail(5)), what="the job to start")
    run_id = job.record.run_id
    assert run_id is not None
    started = time.monotonic()
    job.stop(grace_seconds=0.5)
    assert time.monotonic() - started < 4
    assert run_processes(run_id) == []
    assert job.status == "stopped"


COUNTER = """
import sys, time
while True:
    with open(sys.argv[1], "a") as out:
        out.write("x")
    time.sleep(0.02)
"""


def test_pause_freezes_the_job_and_resume_continues_it(jobs_root: Path, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    job = Job("counter", command=[*script(tmp_path, "counter", COUNTER), str(counter)])
    job.start()
    wait_until(lambda: counter.exists() and counter.stat().st_size > 2, what="the counter")
    job.pause()
    assert job.status == "paused"
    record = job.record
    assert record.run_id is not None and record.pid is not None
    workers = [p for p in run_processes(record.run_id) if p.pid != record.pid]
    assert workers and all(p.status() == psutil.STATUS_STOPPED for p in workers)
    assert psutil.Process(record.pid).status() != psutil.STATUS_STOPPED, "the runner keeps running"
    frozen = counter.stat().st_size
    time.sleep(0.4)
    assert counter.stat().st_size == frozen
    job.resume()
    assert job.status == "running"
    wait_until(lambda: counter.stat().st_size > frozen + 2, what="the counter to move again")
    with pytest.raises(JobStateError):
        job.resume()
    job.stop(grace_seconds=2)


def test_a_reused_pid_is_not_taken_for_the_job(jobs_root: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        job = Job("ghost", command=["true"])
        job.start()
        job.wait(timeout=20)
        with edit_record("ghost") as record:
            # The stranger has the job's pid but not its start time: as after pid reuse.
            record.state, record.pid = "running", stranger.pid
            record.pid_started = psutil.Process(stranger.pid).create_time() - 50
        assert job.status == "failed"
        assert job.result is not None and "without reporting" in job.result.message
        job.stop(grace_seconds=1)
        assert stranger.poll() is None, "the stranger was not signalled"
    finally:
        stranger.kill()
        stranger.wait()


def test_a_killed_runner_is_noticed_and_its_child_ended(jobs_root: Path, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    job = Job("orphaned", command=[*script(tmp_path, "tree", TREE), str(pids_file)])
    job.start()
    pids = [int(p) for p in wait_until(lambda: lines(pids_file), what="pids")[0].split()]
    runner = job.record.pid
    assert runner is not None
    os.kill(runner, signal.SIGKILL)
    wait_until(lambda: not _alive(runner), what="the runner to die")
    assert job.status == "failed"  # restart "never", and no result was reported
    wait_until(lambda: not any(_alive(pid) for pid in pids), timeout=5, what="the orphans to end")


def test_delete_removes_the_job(jobs_root: Path) -> None:
    job = Job("gone", command=[sys.executable, "-c", "import time; time.sleep(30)"])
    job.start()
    run_id = job.record.run_id
    assert run_id is not None
    job.delete(grace_seconds=2)
    assert not (jobs_root / "jobs" / "gone").exists()
    assert "gone" not in get_jobs()
    assert run_processes(run_id) == []
    with pytest.raises(JobNotFoundError):
        _ = Job("gone").status


def test_restart_starts_a_new_run(jobs_root: Path) -> None:
    job = Job("again", command=[sys.executable, "-c", "import time; time.sleep(30)"])
    job.start()
    first = job.record.pid
    job.restart(grace_seconds=2)
    record = job.record
    assert record.state == "running" and record.pid != first and record.runs == 2
    assert first is not None and not _alive(first)
    job.stop(grace_seconds=2)


def test_an_action_job_runs_the_cli(jobs_root: Path) -> None:
    job = Job("version", action=["show", "version"])
    job.start()
    result = job.wait(timeout=30)
    assert result is not None and result.ok, job.logs.tail(20)
    assert any("mrsm_jupyter" in line and "0.1.0" in line for line in job.logs.tail(40))


def test_following_a_job_log_until_the_job_ends(jobs_root: Path, tmp_path: Path) -> None:
    code = "import time\nfor i in range(3):\n    print(f'step {i}', flush=True)\n    time.sleep(0.2)\n"
    job = Job("followed", command=script(tmp_path, "steps", code))
    job.start()
    followed = list(job.logs.follow(lines=50, poll_seconds=0.05, stop_when=lambda: job.status != "running"))
    steps = [line.split(" ", 1)[1] for line in followed if " step " in line]
    assert steps == ["step 0", "step 1", "step 2"]
    assert "run ended" in followed[-1]
