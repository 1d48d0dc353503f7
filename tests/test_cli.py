"""``jupyter mrsm``: the command line as a user runs it, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A root of its own and a DuckDB file instance, ``sql:cli``."""
    return {
        **os.environ,
        "MRSM_JUPYTER_ROOT": str(tmp_path),
        "MRSM_SQL_CLI": f"duckdb:///{tmp_path / 'cli.duckdb'}",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def mrsm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mrsm_jupyter.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_register_show_and_fail_to_sync_a_label_pipe(env: dict[str, str], metric: str) -> None:
    registered = mrsm(env, "register", "pipes", "-c", "demo", "-m", metric, "-i", "sql:cli")
    assert registered.returncode == 0, registered.stderr
    assert (
        "registered" in registered.stdout
        and f"Pipe('demo', '{metric}', instance='sql:cli')" in registered.stdout
    )

    shown = mrsm(env, "show", "pipes", "-i", "sql:cli")
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[:2] == ["Pipes on sql:cli", "connector  metric       location  tags"]

    # A bare label has no source: exit 1, one line naming the pipe and the remedy, no traceback.
    synced = mrsm(env, "sync", "pipes", "-i", "sql:cli")
    assert synced.returncode == 1
    assert synced.stderr.strip().splitlines() == [
        f"error: PipeError: Pipe('demo', '{metric}', instance='sql:cli'): has no source to fetch from "
        "('demo' is only a label). Pass the rows: pipe.sync(df), or give the pipe a source connector "
        "such as 'sql:src'."
    ]
    with_traceback = mrsm(env, "sync", "pipes", "-i", "sql:cli", "--traceback")
    assert with_traceback.returncode == 1 and "Traceback (most recent call last)" in with_traceback.stderr


def test_errors_are_one_line_with_an_exit_code(env: dict[str, str]) -> None:
    unknown = mrsm(env, "snyc", "pipes")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "error: UnknownActionError: Unknown action 'snyc'. Did you mean 'sync'?\n",
    )
    bad_json = mrsm(env, "show", "pipes", "--params", "{nope")
    assert bad_json.returncode == 2 and "is not valid JSON" in bad_json.stderr
    # No terminal to ask on: destructive actions need -y.
    register = mrsm(env, "register", "pipes", "-c", "demo", "-m", "x", "-i", "sql:cli")
    assert register.returncode == 0
    clear = mrsm(env, "clear", "pipes", "-i", "sql:cli")
    assert clear.returncode == 1 and "Add -y to confirm (no terminal to ask on)" in clear.stderr
    assert "Traceback" not in unknown.stderr + bad_json.stderr + clear.stderr


def test_jupyter_finds_the_subcommand(env: dict[str, str]) -> None:
    jupyter = BIN / "jupyter"  # jupyter_core comes with the test extra: its absence is a failure
    assert jupyter.exists(), f"{jupyter} is missing: install the project's test extra"
    done = subprocess.run(
        [str(jupyter), "mrsm", "--help"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: jupyter mrsm")
    assert "sync pipes" in done.stdout and "show version" in done.stdout
