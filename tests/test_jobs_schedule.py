"""Schedules, the restart backoff and spec checks: tables of inputs, no processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mrsm_jupyter import Job
from mrsm_jupyter.jobs.backoff import RestartBackoff
from mrsm_jupyter.jobs.errors import JobSpecError, ScheduleError
from mrsm_jupyter.jobs.model import build_spec
from mrsm_jupyter.jobs.schedule import Schedule

NOON = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("every 10 minutes", 600),
        ("every minute", 60),
        ("Every 2 Hours", 7200),
        ("every 1.5 seconds", 1.5),
        ("every  1 day", 86400),
        ("every 2 weeks", 1_209_600),
        ("every 1 second", 1),
    ],
)
def test_interval_schedules(text: str, seconds: float) -> None:
    schedule = Schedule.parse(text)
    assert schedule.interval == timedelta(seconds=seconds)
    assert schedule.next_run(NOON) == NOON + timedelta(seconds=seconds)
    assert schedule.first_run(NOON) == NOON


@pytest.mark.parametrize("text", ["*/5 * * * *", "@hourly", "0 9 * * 1-5", "30 2 1 * *"])
def test_cron_schedules_parse(text: str) -> None:
    assert Schedule.parse(text).cron == text


@pytest.mark.parametrize(
    "text",
    [
        "every 0 seconds",
        "every 0.5 seconds",
        "sometimes",
        "*/5 * * *",
        "61 * * * *",
        "every -1 minutes",
        "",
        "every 10 fortnights",
        "* * * * * * *",
    ],
)
def test_bad_schedules_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ScheduleError, match="every"):
        Schedule.parse(text)


def test_cron_runs_at_the_next_match_in_utc() -> None:
    schedule = Schedule.parse("*/5 * * * *")
    assert schedule.next_run(NOON + timedelta(minutes=3)) == NOON + timedelta(minutes=5)
    assert schedule.next_run(NOON) == NOON + timedelta(minutes=5), "strictly after"
    assert schedule.first_run(NOON) > NOON


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_cron_reads_local_time() -> None:
    # 09:00 in New York is 14:00 UTC in January (EST) and 13:00 UTC in July (EDT).
    schedule = Schedule.parse("0 9 * * *")
    assert schedule.next_run(NOON) == datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
    assert schedule.next_run(datetime(2024, 7, 15, 12, 0, tzinfo=UTC)) == datetime(
        2024, 7, 15, 13, 0, tzinfo=UTC
    )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Schedule.parse("every minute").next_run(datetime(2024, 1, 1))


def test_backoff_doubles_to_the_cap_and_resets() -> None:
    backoff = RestartBackoff()
    assert [backoff.delay(n) for n in range(0, 11)] == [
        0.1,
        0.1,
        0.2,
        0.4,
        0.8,
        1.6,
        3.2,
        6.4,
        12.8,
        15.0,
        15.0,
    ]
    assert backoff.is_quick(29.9) and not backoff.is_quick(30.0)
    assert not backoff.gives_up(9) and backoff.gives_up(10)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"command": ["true"], "schedule": "whenever"}, "not understood"),
        ({"code": "x", "parameters": {"not a name": 1}}, "not a Python name"),
        ({"code": "x", "parameters": {"class": 1}}, "not a Python name"),
        ({"command": ["true"], "parameters": {"a": 1}}, "only notebook and cell"),
        ({"command": ["true"], "code": "x"}, "exactly one"),
        ({}, "exactly one"),
        ({"command": []}, "needs what to run"),
        ({"command": ["true"], "restart": "sometimes"}, "restart policy"),
    ],
)
def test_bad_specs_name_the_job(arguments: dict[str, Any], fragment: str) -> None:
    with pytest.raises(JobSpecError) as caught:
        build_spec("named", **arguments)
    assert str(caught.value).startswith("job 'named':")
    assert fragment in str(caught.value)


def test_a_job_given_a_bad_spec_fails_at_construction() -> None:
    with pytest.raises(JobSpecError, match="not understood"):
        Job("named", command=["true"], schedule="whenever")
