"""The jobs widget and the bootstrap widget, driven through their traits and buttons as a frontend
would, without a browser; the jobs are real processes under the ``jobs_root`` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path

import pytest
from jobs_helpers import script, wait_until

from mrsm_jupyter import Job
from mrsm_jupyter.jupyter.widgets import BootstrapJobWidget, JobsWidget

TICKER = "import time\nfor i in range(600):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.05)\n"


@pytest.fixture
def jobs_widget(jobs_root: Path) -> Iterator[Callable[[], JobsWidget]]:
    """Makes a jobs widget polling fast, once the test's jobs exist; closed after the test."""
    made: list[JobsWidget] = []

    def make() -> JobsWidget:
        made.append(JobsWidget(poll_seconds=0.05, log_lines=5))
        return made[-1]

    yield make
    for widget in made:
        widget.close()


def start(tmp_path: Path, name: str, code: str, schedule: str | None = None) -> Job:
    job = Job(name, command=script(tmp_path, name, code), schedule=schedule)
    job.start()
    return job


def test_one_row_per_job_with_status_result_times_and_a_live_log(
    jobs_widget: Callable[[], JobsWidget], tmp_path: Path
) -> None:
    start(tmp_path, "yearly", "print('hi')", schedule="0 0 1 1 *")
    failing = start(tmp_path, "failing", "import sys\nprint('bad input')\nsys.exit(3)")
    failing.wait(timeout=20)
    start(tmp_path, "ticker", TICKER)
    jobs = jobs_widget()
    assert list(jobs.rows) == ["failing", "ticker", "yearly"]
    assert "3 job(s)" in jobs.header.value

    yearly = jobs.rows["yearly"]
    assert "scheduled (next " in yearly.status.value and "never started" in yearly.times.value
    assert (yearly.pause_button.disabled, yearly.stop_button.disabled) == (False, False)
    failed = jobs.rows["failing"]
    assert ">failed<" in failed.status.value and "failed: exited with code 3" in failed.result.value
    assert "bad input" in failed.log_tail.value and failed.stop_button.disabled
    assert failed.restart_button.description == "Start" and "ended " in failed.times.value

    # The log tail moves with the job, set by the widget's own thread (nobody calls refresh here).
    ticker = jobs.rows["ticker"]
    wait_until(lambda: "tick 3" in ticker.log_tail.value, timeout=20, what="tick 3 in the tail")
    wait_until(lambda: "tick 9" in ticker.log_tail.value, timeout=20, what="the tail to move on")
    assert ticker.log_tail.value.count("tick ") <= 5, "only the last lines are shown"


def test_buttons_stop_pause_restart_and_delete_after_a_confirmation(
    jobs_widget: Callable[[], JobsWidget], tmp_path: Path
) -> None:
    job = start(tmp_path, "sleeper", "import time\nprint('up', flush=True)\ntime.sleep(60)")
    row = jobs_widget().rows["sleeper"]
    assert ">running<" in row.status.value

    row.pause_button.click()
    wait_until(lambda: row.pause_button.description == "Resume", what="paused")
    assert ">paused<" in row.status.value and job.status == "paused"
    row.pause_button.click()
    wait_until(lambda: ">running<" in row.status.value, what="resumed")

    row.stop_button.click()
    wait_until(lambda: ">stopped<" in row.status.value, what="stopped")
    assert job.status == "stopped" and row.stop_button.disabled
    assert row.restart_button.description == "Start"
    row.restart_button.click()
    wait_until(lambda: ">running<" in row.status.value, what="started again")
    assert job.record.runs == 2

    row.delete_button.click()
    assert "Delete job 'sleeper' and its log?" in unescape(row.message.value)
    assert row.confirm_button.layout.display == ""
    row.cancel_button.click()
    assert "Nothing was deleted." in row.message.value and job.exists
    row.delete_button.click()
    row.confirm_button.click()
    wait_until(lambda: not job.exists, what="deleted")


def test_new_jobs_appear_and_closing_ends_the_watcher(
    jobs_widget: Callable[[], JobsWidget], tmp_path: Path
) -> None:
    jobs = jobs_widget()
    assert jobs.rows == {} and "No jobs yet" in jobs.header.value
    start(tmp_path, "late", "print('late')")
    wait_until(lambda: "late" in jobs.rows, what="the new job's row")
    jobs.close()
    jobs._watcher.join(timeout=5)
    assert not jobs._watcher.is_alive()


def test_bootstrap_previews_the_exact_command_line(jobs_root: Path, tmp_path: Path) -> None:
    (tmp_path / "report.ipynb").write_text("{}")
    form = BootstrapJobWidget(notebooks_dir=tmp_path)
    assert form.command == "jupyter mrsm sync pipes -d"
    form.name.value = "temps"
    form.options.value = "-m temperature -i sql:local"
    form.schedule.value = "every 10 minutes"
    form.restart.value = "on-failure"
    assert form.command == (
        "jupyter mrsm sync pipes -m temperature -i sql:local -d --name temps "
        "--schedule 'every 10 minutes' --restart on-failure"
    )
    assert "--schedule &#x27;every 10 minutes&#x27;" in form.preview.value

    form.source.value = "notebook"
    assert form.command == "" and form.start_button.disabled
    assert "Pick the notebook the job runs." in form.status.value
    assert form.notebook.options == ("report.ipynb",) and form.action.layout.display == "none"
    form.notebook.value = "report.ipynb"
    form.parameters.value = '{"threshold": 3}'
    form.schedule.value = "0 6 * * *"
    assert form.command == (
        "jupyter mrsm start job temps --notebook report.ipynb --parameters '{\"threshold\": 3}' "
        "--schedule '0 6 * * *' --restart on-failure"
    )
    form.schedule.value = "every 10 parsecs"
    assert form.start_button.disabled and "is not understood" in form.status.value


def test_bootstrap_starts_the_previewed_job(jobs_widget: Callable[[], JobsWidget]) -> None:
    jobs = jobs_widget()
    form = jobs.open_bootstrap()
    form.action.value = "show version"
    form.name.value = "versions"
    form.schedule.value = "0 0 1 1 *"
    form.start_button.click()
    assert "Started job 'versions'" in unescape(form.status.value)
    assert "versions" in jobs.rows, "the jobs widget shows the new job at once"
    spec = Job("versions").record.spec
    assert (spec.argv, spec.schedule, spec.restart) == (("show", "version"), "0 0 1 1 *", "never")
    form.name.value = "bad/name"
    assert form.start_button.disabled and "the name contains a path separator" in form.status.value
