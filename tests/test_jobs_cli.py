"""``jupyter mrsm`` and background jobs, as a user runs them: real subprocesses, real jobs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def jupyter_mrsm(*args: str) -> subprocess.CompletedProcess[str]:
    """``jupyter mrsm ARGS`` under the test's root (``jobs_root`` sets it in the environment)."""
    return subprocess.run(
        [str(BIN / "jupyter"), "mrsm", *args],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_start_a_job_with_d_list_it_follow_its_log_and_stop_it(jobs_root: Path) -> None:
    empty = jupyter_mrsm("show", "jobs")
    assert empty.returncode == 0, empty.stderr
    assert "No jobs yet; start one with `jupyter mrsm sync pipes -m METRIC -d --name NAME`." in empty.stdout

    started_at = time.monotonic()
    started = jupyter_mrsm("show", "version", "-d", "--name", "versions")
    assert started.returncode == 0, started.stderr
    assert time.monotonic() - started_at < 10
    assert "Started job 'versions' in the background: `jupyter mrsm show version`" in started.stdout

    listed = jupyter_mrsm("show", "jobs")
    assert listed.stdout.splitlines()[1].split() == [
        "job", "status", "runs", "schedule", "restart", "started", "ended", "last", "result"
    ]  # fmt: skip
    assert listed.stdout.splitlines()[3].startswith("versions")

    # --follow streams the log until the job has ended, then exits 0.
    followed = jupyter_mrsm("show", "logs", "versions", "--follow")
    assert followed.returncode == 0, followed.stderr
    assert " mrsm_jupyter  0.1.0" in followed.stdout
    assert "Job 'versions' is stopped; nothing more will be written." in followed.stdout

    # No terminal to ask on: destructive job actions need -y, and say so.
    refused = jupyter_mrsm("delete", "jobs", "versions")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: ConfirmationError: Delete (with their logs) 1 job(s): versions? "
        "Add -y to confirm (no terminal to ask on)."
    )
    assert jupyter_mrsm("delete", "jobs", "versions", "-y").returncode == 0
    assert not (jobs_root / "jobs" / "versions").exists()


def test_errors_name_the_job_and_exit_non_zero(jobs_root: Path) -> None:
    missing = jupyter_mrsm("stop", "jobs", "nope", "-y")
    assert missing.returncode == 1
    assert "error: JobNotFoundError: job 'nope': no such job." in missing.stderr
    usage = jupyter_mrsm("sync", "pipes", "--loop")
    assert usage.returncode == 2 and "add -d, e.g. `jupyter mrsm sync pipes -d --loop`" in usage.stderr


def test_supervisor_subcommand_writes_a_systemd_unit(jobs_root: Path, tmp_path: Path) -> None:
    unit = tmp_path / "mrsm.service"
    written = jupyter_mrsm("supervisor", "--install-systemd", "--unit-path", str(unit))
    assert written.returncode == 0, written.stderr
    assert f"Wrote {unit}" in written.stdout and "systemctl --user enable --now" in written.stdout
    assert f'--root" "{jobs_root}"' in unit.read_text()
    assert "jupyter mrsm supervisor [--install-systemd]" in jupyter_mrsm("--help").stdout
