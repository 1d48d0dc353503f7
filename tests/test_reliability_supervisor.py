"""R8 in the long mode: the supervisor's behaviours (backoff and give-up, a sticky manual stop,
kill -9 of the supervisor then restart, a reused pid, save and restore, jobs back after a
reboot) each run 10 times in a row; every run must hold. Per push they run once, in
``test_jobs_supervisor.py``."""

from __future__ import annotations

import inspect

import pytest
import test_jobs_supervisor as supervisor
from test_jobs_supervisor import start_supervisor  # noqa: F401 (a fixture the behaviours use)

BEHAVIOURS = [
    "test_backoff_doubles_then_the_supervisor_gives_up",
    "test_a_manual_stop_sticks",
    "test_kill_9_of_the_supervisor_then_restart",
    "test_a_reused_pid_is_not_taken_for_the_job",
    "test_save_and_restore",
    "test_jobs_running_before_a_reboot_come_back",
]


@pytest.mark.slow
@pytest.mark.parametrize("run", range(10))
@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_supervisor_behaviour_holds_every_time(
    behaviour: str, run: int, request: pytest.FixtureRequest
) -> None:
    check = getattr(supervisor, behaviour)
    check(**{name: request.getfixturevalue(name) for name in inspect.signature(check).parameters})
