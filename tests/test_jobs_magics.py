"""``%%job`` and ``%mrsm`` on jobs in an in-process IPython shell, with real background kernels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from ipywidgets.widgets.widget import _instances

from mrsm_jupyter.actions import ActionOutcome
from mrsm_jupyter.jupyter import display
from mrsm_jupyter.jupyter.widgets import JobsWidget

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def ip(jobs_root: Path) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mrsm_jupyter")
    shell.run_line_magic("config", "MrsmMagics.instance = 'sql:memory'")
    yield shell
    shell.run_line_magic("unload_ext", "mrsm_jupyter")


def test_a_job_cell_runs_in_a_background_kernel(ip: InteractiveShell) -> None:
    code = "print('from the job kernel')\nanswer = n * 7\nanswer"
    cell = ip.run_cell(f"%%job answer --parameters '{{\"n\": 6}}'\n{code}")
    assert cell.success and isinstance(cell.result, ActionOutcome)
    assert "answer" not in ip.user_ns, "the cell ran in another kernel, not in this shell"
    [job] = cell.result.jobs
    assert job.name == "answer" and job.record.spec.kind == "cell"
    assert "`%mrsm show logs answer --follow`" in cell.result.message
    result = job.wait(timeout=60)
    assert result is not None and result.ok and result.message == "42"
    assert any(line.endswith(" from the job kernel") for line in job.logs.tail(20))

    shown = ip.run_line_magic("mrsm", "show logs answer --lines 50")
    assert any("from the job kernel" in line for line in shown.logs["answer"])


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("../x", "InvalidJobNameError: job '../x': the name contains a path separator"),
        ("x --schedule 'every 10 parsecs'", "--schedule: schedule 'every 10 parsecs' is not understood"),
        ("x --restart sometimes", "argument --restart: invalid choice: 'sometimes'"),
        ("x --parameters '[1]'", "must be a JSON object"),
    ],
)
def test_job_cell_errors_print_one_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], line: str, error: str
) -> None:
    cell = ip.run_cell(f"%%job {line}\n1")
    assert cell.success and cell.result is None
    assert error in capsys.readouterr().err


def test_job_cell_help(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell("%%job --help\n1")
    assert "usage: %%job [--schedule SCHEDULE] [--cron CRON]" in capsys.readouterr().out


def test_d_writes_the_configured_instance_into_the_job(ip: InteractiveShell) -> None:
    outcome = ip.run_line_magic("mrsm", "show version -d --name versions --cron '0 0 1 1 *'")
    assert outcome.jobs[0].record.spec.argv == ("show", "version", "-i", "sql:memory")
    assert outcome.jobs[0].status == "scheduled"


def test_show_jobs_shows_the_widget_in_a_kernel_and_html_elsewhere(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    ip.run_line_magic("mrsm", "show version -d --name versions --cron '0 0 1 1 *'")
    outcome = ip.run_line_magic("mrsm", "show jobs")
    assert ip.display_formatter is not None
    data, _ = ip.display_formatter.format(outcome)
    assert WIDGET_VIEW not in data, "a terminal IPython has no widget frontend"
    assert "<td" in data["text/html"] and "versions" in data["text/html"]

    monkeypatch.setattr(display, "frontend_renders_widgets", lambda: True)
    data, _ = ip.display_formatter.format(outcome)
    widget = _instances[data[WIDGET_VIEW]["model_id"]]
    try:
        assert isinstance(widget, JobsWidget) and list(widget.rows) == ["versions"]
        assert "versions" in data["text/html"], "the HTML table stays, for static exports"
        assert data["text/plain"].startswith("Jobs\njob "), "the outcome's own text stays"
    finally:
        widget.close()
    other = ip.run_line_magic("mrsm", "show version")
    assert WIDGET_VIEW not in ip.display_formatter.format(other)[0]
