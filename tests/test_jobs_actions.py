"""Actions on background jobs through the entry point both shells use: ``-d`` (with loops and
schedules), ``show jobs | logs``, ``start | stop | pause | restart | delete jobs``, ``save | restore jobs``.

Grammar tables need no process; the rest start real jobs under the ``jobs_root`` fixture.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jobs_helpers import script, wait_until

from mrsm_jupyter import Job
from mrsm_jupyter.actions import ActionContext, ActionOutcome, ConfirmationError, parse_action, run_action
from mrsm_jupyter.actions.daemon import default_job_name
from mrsm_jupyter.actions.grammar import RESTART_CHOICES, action_argv
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jobs.model import RESTART_POLICIES


def run(line: str, instance: str | None = None, **context: Any) -> ActionOutcome:
    return run_action(parse_action(line), ActionContext(instance=instance, prog="mrsm", **context))


def messages(job: Job, n: int = 100) -> list[str]:
    """The job's log lines without their timestamps."""
    return [line.split(" ", 1)[1] if " " in line else "" for line in job.logs.tail(n)]


# The grammar of job options: tables, no process.
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "sync pipes -m t -d --name temps --loop --min-seconds 30",
            {"daemon": True, "name": "temps", "loop": True, "min_seconds": 30.0, "names": []},
        ),
        ("sync pipes -d --cron '*/5 * * * *'", {"cron": "*/5 * * * *", "schedule": None}),
        ("stop jobs a b -y", {"action": "stop", "subaction": "jobs", "names": ["a", "b"], "yes": True}),
        (
            "start job nightly --notebook r.ipynb --parameters '{\"x\": 1}' --restart on-failure",
            {"subaction": "jobs", "names": ["nightly"], "notebook": "r.ipynb", "parameters": {"x": 1}},
        ),
        ("show log temps --follow --lines 5", {"subaction": "logs", "follow": True, "lines": 5}),
        ("show jobs", {"names": [], "acts_on_jobs": True, "asks_for_a_job": False}),
        ("sync pipes --schedule 'every 10 minutes'", {"repeats": True, "asks_for_a_job": True}),
    ],
)
def test_job_options_parse(line: str, expected: dict[str, Any]) -> None:
    request = parse_action(line)
    assert {key: getattr(request, key) for key in expected} == expected


@pytest.mark.parametrize(
    "line",
    [
        "sync pipes -m temperature _humidity -c sql:src -i sql:x --begin 2024-01-01 --end=-5",
        'clear pipes -m t --params \'{"station": ["a", "b"]}\' -y',
        "sync pipes -m t -d --name temps --schedule 'every 10 minutes' --restart on-failure",
        "sync pipes -d --loop --min-seconds 1.5",
        "start job nightly --notebook 'my report.ipynb' --parameters '{\"x\": 1}' --cron '0 6 * * *'",
        "show logs a b --lines 5 --follow",
        "copy pipes -t a --to-instance sql:b --limit 3",
    ],
)
def test_requests_write_back_to_the_words_that_parse_into_them(line: str) -> None:
    request = parse_action(line)
    assert parse_action(action_argv(request)) == request


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("sync pipes --loop", r"are for background jobs; add -d, e.g. `mrsm sync pipes -d --loop`"),
        ("sync pipes --name temps", "add -d"),
        (
            "sync pipes -d --loop --cron '* * * * *'",
            "Give one of --loop, --schedule or --cron, not --loop and",
        ),
        ("sync pipes -d --cron 'every 10 minutes'", "not a cron line.*--schedule 'every 10 minutes'"),
        (
            "sync pipes -d --schedule 'every 10 parsecs'",
            "--schedule: schedule 'every 10 parsecs' is not understood",
        ),
        ("sync pipes -d --min-seconds 0", "'0' is not a positive number of seconds"),
        ("sync pipes -d --restart sometimes", "invalid choice: 'sometimes'"),
        ("sync pipes -d --name ../etc", r"job '../etc': the name contains a path separator"),
        ("stop jobs temps -d", "stop jobs manages background jobs itself; run it without -d"),
        ("stop jobs", r"stop jobs needs job names, e.g. `stop jobs temps -y`"),
        ("show logs a b --follow", "follows one job"),
        ("start job nope", r"job 'nope': no such job. Create it with `mrsm start job nope --notebook PATH`"),
    ],
)
def test_job_errors_name_the_job_and_the_fix(jobs_root: Path, line: str, message: str) -> None:
    with pytest.raises(MrsmError, match=message):
        outcome = run(line)
        raise outcome.failures[0].error  # actions on several jobs report each failure


def test_the_grammar_offers_the_restart_policies_of_jobs() -> None:
    # The grammar does not import the jobs package (it must load fast), so it keeps its own list.
    assert set(RESTART_CHOICES) == set(RESTART_POLICIES)


def test_default_job_names_are_readable_and_unique() -> None:
    request = parse_action("sync pipes -m _humidity temperature -d")
    assert default_job_name(request, set()) == "sync-pipes-temperature"
    assert default_job_name(request, {"sync-pipes-temperature"}) == "sync-pipes-temperature-2"
    assert default_job_name(parse_action("show version -d"), set()) == "show-version"


# Real jobs.
@pytest.fixture
def sqlite_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A file instance that the test and its background jobs both open (jobs inherit the env)."""
    monkeypatch.setenv("MRSM_SQL_JOBS", f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    return "sql:jobs"


def test_daemon_runs_the_action_as_a_job_whose_log_ends_with_its_output(
    jobs_root: Path, sqlite_instance: str
) -> None:
    assert run("register pipes -c demo -m temperature", sqlite_instance).success
    started = time.monotonic()
    outcome = run("show pipes -d --name listing", sqlite_instance)
    assert time.monotonic() - started < 3, "-d returns at once"
    [job] = outcome.jobs
    # The shell's default instance is written out: the job does not know the shell's config.
    assert job.record.spec.argv == ("show", "pipes", "-i", "sql:jobs")
    assert "`mrsm show logs listing --follow`" in outcome.message
    assert outcome.tables[0].rows[0][:3] == ("listing", "running", "show pipes -i sql:jobs")
    result = job.wait(timeout=60)
    assert result is not None and result.ok, messages(job)
    lines = messages(job)
    assert lines[-1] == "[mrsm] run ended: exited with code 0; now stopped"
    assert lines[-2] == "1 pipe(s) on sql:jobs match (no keys)."
    assert "connector  metric       location  tags" in lines

    unnamed = run("show version -d")
    assert [j.name for j in unnamed.jobs] == ["show-version"]


def test_loop_and_cron_repeat_the_action(jobs_root: Path) -> None:
    cron = run("show version -d --name yearly --cron '0 0 1 1 *'").jobs[0].record
    assert (cron.state, cron.runs, cron.spec.schedule) == ("scheduled", 0, "0 0 1 1 *")
    assert run("show jobs yearly").tables[0].rows[0][1].startswith("scheduled (next ")

    looping = run("show version -d --name looping --loop --min-seconds 1").jobs[0]
    assert looping.record.spec.schedule == "every 1 seconds"
    # The supervisor starts the second run once the first has ended.
    wait_until(lambda: looping.record.runs >= 2, timeout=30, what="a second run")
    assert run("stop jobs looping yearly -y").success
    assert {job.status for job in (looping, Job("yearly"))} == {"stopped"}


def _job(tmp_path: Path, name: str, code: str) -> Job:
    job = Job(name, command=script(tmp_path, name, code))
    job.start()
    return job


def test_show_jobs_and_logs_and_follow_a_log_to_the_end(jobs_root: Path, tmp_path: Path) -> None:
    counting = "import time\nfor i in range(1, 6):\n    print(f'line {i}', flush=True)\n    time.sleep(0.1)\n"
    job = _job(tmp_path, "counter", counting)
    echoed: list[str] = []
    followed = run("show logs counter --follow", echo=echoed.append)
    assert [line.split(" ", 1)[1] for line in echoed if "line " in line] == [f"line {i}" for i in range(1, 6)]
    assert followed.message == "Job 'counter' is stopped; nothing more will be written."
    assert job.status == "stopped"

    tail = run("show logs counter --lines 2")
    assert [line.split(" ", 1)[1] for line in tail.logs["counter"]][-1].startswith("[mrsm] run ended")
    assert len(tail.logs["counter"]) == 2 and "==> counter <==" in tail.to_text()

    listing = run("show jobs")
    assert listing.tables[0].headers[:3] == ("job", "status", "runs")
    assert [row[:2] for row in listing.tables[0].rows] == [("counter", "stopped")]
    assert listing.tables[0].rows[0][-1] == "ok: exited with code 0"
    missing = run("show jobs counter nope")
    assert [f.line for f in missing.failures] == ["JobNotFoundError: job 'nope': no such job."]


def test_stop_pause_restart_start_and_delete(jobs_root: Path, tmp_path: Path) -> None:
    job = _job(tmp_path, "sleeper", "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    with pytest.raises(ConfirmationError, match=r"Stop 1 job\(s\): sleeper\? Add -y to confirm"):
        run("stop jobs sleeper")
    assert run("pause jobs sleeper").jobs[0].status == "paused"
    assert run("start jobs sleeper").jobs[0].status == "running", "start resumes a paused job"
    restarted = run("restart jobs sleeper")
    assert restarted.tables[0].rows[0][1] == "running" and job.record.runs == 2
    assert run("stop jobs sleeper -y").jobs[0].status == "stopped"
    assert run("start job sleeper").jobs[0].status == "running", "start restarts a stopped job"

    with pytest.raises(ConfirmationError, match="Delete"):
        run("delete jobs sleeper")
    asked: list[str] = []
    deleted = run("delete jobs sleeper nope", confirm=lambda q: asked.append(q) or True)
    assert asked == ["Delete (with their logs) 2 job(s): sleeper, nope?"]
    assert deleted.tables[0].rows == (("sleeper", "deleted"),) and not job.exists
    assert [f.line for f in deleted.failures] == [
        "JobNotFoundError: job 'nope': no such job. See `show jobs` for the jobs that exist."
    ]
    assert run("show jobs").message.startswith("No jobs yet")


def test_start_job_runs_a_notebook_with_parameters(jobs_root: Path, tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    defaults = nbformat.v4.new_code_cell("threshold = 1")
    defaults.metadata["tags"] = ["parameters"]
    notebook.cells = [defaults, nbformat.v4.new_code_cell("print('threshold is', threshold)\nthreshold * 2")]
    path = tmp_path / "report.ipynb"
    nbformat.write(notebook, path)
    parameters = json.dumps({"threshold": 21})
    outcome = run(f"start job report --notebook {path} --parameters '{parameters}' --restart never")
    assert "the notebook runs in a background kernel" in outcome.message
    result = outcome.jobs[0].wait(timeout=60)
    assert result is not None and result.ok and result.message == "42"
    assert "threshold is 21" in messages(outcome.jobs[0])


def test_save_and_restore_jobs(jobs_root: Path) -> None:
    run("show version -d --name yearly --cron '0 0 1 1 *'")
    run("stop jobs yearly -y")
    run("show version -d --name monthly --schedule '0 0 1 * *'")
    saved = run("save jobs")
    assert (jobs_root / "supervisor" / "dump.json").is_file()
    assert "Saved 2 job(s)" in saved.message
    run("delete jobs yearly monthly -y")
    restored = run("restore jobs")
    states = {row[0]: row[1].split(" ")[0] for row in restored.tables[0].rows}
    assert states == {"monthly": "scheduled", "yearly": "stopped"}


def test_a_background_job_runs_a_python_command_line(jobs_root: Path) -> None:
    # Any action, including one that fails: the failure is the job's result, not the shell's.
    outcome = run("sync pipes -m nothing -i sql:memory -d --name empty")
    result = outcome.jobs[0].wait(timeout=60)
    assert result is not None and not result.ok and result.exit_code == 1
    assert any("no registered pipes match -m nothing" in line for line in messages(outcome.jobs[0]))
