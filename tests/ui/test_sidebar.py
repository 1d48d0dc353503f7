"""The "Meerschaum" sidebar of the prebuilt labextension in a real JupyterLab, through chromium.

Reuses the JupyterLab and browser fixtures of ``test_quickstart_lab``. That server gets its own
empty ``JUPYTER_CONFIG_DIR`` and knows nothing of this package, so before it starts the
environment it inherits is given:

- ``JUPYTER_PATH`` with ``labextensions/mrsm-jupyter-labextension`` linked to the prebuilt
  ``mrsm_jupyter/labextension`` (``cd labextension && jlpm build:prod``), which is what
  ``jupyter labextension develop`` would link, but only for this server;
- ``JUPYTER_CONFIG_PATH`` with the package's own ``jupyter-config/server-config`` file, which
  enables the server extension (the REST API under ``mrsm/api/``).

The demo's pipes, a pipe synced from another by a fetch definition, and a running job are created
in the session's ``MRSM_JUPYTER_ROOT`` (which the server inherits too). One test walks what a user
does: the tree and its filters, Sync (the row count changes), "open in a notebook cell", Clear
behind its confirmation, the new-pipe form, a job's live log, the settings and the dark theme.
Screenshots go to ``tests/ui/screenshots/`` (``sidebar.png``, ``sidebar-log.png``,
``sidebar-dark.png``).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from test_quickstart_lab import (  # the fixtures are reused by name
    REPO,
    SCREENSHOTS,
    LabServer,
    block_other_hosts,
    browser,  # noqa: F401
    lab,  # noqa: F401
)

import mrsm_jupyter as mrsm
from mrsm_jupyter.demo import run as run_demo
from mrsm_jupyter.jobs.api import Job

PREBUILT = REPO / "mrsm_jupyter" / "labextension"
EXTENSION_NAME = "mrsm-jupyter-labextension"
SERVER_CONFIG = REPO / "jupyter-config" / "server-config" / "mrsm_jupyter.json"
JOB = "sidebar-ticker"
NOTEBOOK = "sidebar.ipynb"
# The sidebar's settings for this server: the default instance, and a fast refresh of job states.
SIDEBAR_SETTINGS = {"defaultInstance": "sql:local", "refreshInterval": 1}
APP_RESTORED_JS = "async () => !!window.jupyterapp && (await window.jupyterapp.restored, true)"


@pytest.fixture(autouse=True)
def extension_visible(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs before ``lab`` (autouse): the server started by ``lab`` inherits this environment.

    Parametrized indirectly with ``False``, only the labextension is made visible, not the server
    extension.
    """
    with_server_extension = getattr(request, "param", True)
    if not (PREBUILT / "package.json").exists():
        pytest.fail(f"No prebuilt labextension in {PREBUILT}: run `cd labextension && jlpm build:prod`.")
    data = tmp_path / "jupyter_data"
    (data / "labextensions").mkdir(parents=True)
    (data / "labextensions" / EXTENSION_NAME).symlink_to(PREBUILT, target_is_directory=True)
    config = tmp_path / "jupyter_config_path" / "jupyter_server_config.d"
    config.mkdir(parents=True)
    shutil.copy(SERVER_CONFIG, config / SERVER_CONFIG.name)
    monkeypatch.setenv("JUPYTER_PATH", str(data))
    settings = tmp_path / "settings" / EXTENSION_NAME / "sidebar.jupyterlab-settings"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps(SIDEBAR_SETTINGS))
    if with_server_extension:
        monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(config.parent))
    else:
        # An installed package enables the extension from its environment's etc/jupyter;
        # the server's own config dir (``lab`` uses tmp_path / "config") turns it off.
        (tmp_path / "config").mkdir(exist_ok=True)
        off = {"ServerApp": {"jpserver_extensions": {"mrsm_jupyter": False}}}
        (tmp_path / "config" / "jupyter_server_config.json").write_text(json.dumps(off))


@pytest.fixture
def demo_pipes() -> Iterator[list[mrsm.Pipe]]:
    """The demo's two pipes (``make demo``), tagged ``demo``, on the session's ``sql:local``."""
    run_demo("sql:local")
    pipes = mrsm.get_pipes("demo", instance="sql:local", as_list=True)
    yield pipes
    for pipe in pipes:
        pipe.delete()


@pytest.fixture
def copy_pipe() -> Iterator[mrsm.Pipe]:
    """A pipe that syncs, from its fetch definition, the three rows of a raw pipe; not synced
    yet, so the sidebar's Sync button is what fills it."""
    raw = mrsm.Pipe("sidebar_src", "sidebar_raw", instance="sql:local", columns={"datetime": "dt"})
    raw.register()
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    raw.sync(pd.DataFrame({"dt": [t0 + timedelta(hours=h) for h in range(3)], "v": [1, 2, 3]}))
    definition = "SELECT * FROM {{ Pipe('sidebar_src', 'sidebar_raw', instance='sql:local') }}"
    copy = mrsm.Pipe(
        "sql:local",
        "sidebar_copy",
        instance="sql:local",
        columns={"datetime": "dt"},
        parameters={"fetch": {"definition": definition}},
    )
    copy.register()
    yield copy
    for pipe in (raw, copy, mrsm.Pipe("sidebar_new", "sidebar_form", instance="sql:local")):
        pipe.delete()


@pytest.fixture
def job() -> Iterator[Job]:
    code = "import time\nfor i in range(600):\n    print('tick', i, flush=True)\n    time.sleep(0.5)"
    job = Job(JOB, command=[sys.executable, "-u", "-c", code])
    job.start()
    yield job
    job.stop()
    job.delete()


def open_sidebar(
    chromium: Browser, server: LabServer, path: str = "lab?reset"
) -> tuple[Page, Locator, list[str]]:
    """JupyterLab at ``path`` with the Meerschaum sidebar opened (clicked, as a user would),
    and the list of requests to other hosts that were blocked."""
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    blocked = block_other_hosts(page)
    separator = "&" if "?" in path else "?"
    page.goto(f"{server.url}/{path}{separator}token={server.token}")
    page.wait_for_function(APP_RESTORED_JS, timeout=30_000, polling=200)
    page.locator('.jp-SideBar [data-id="mrsm-jupyter-sidebar"]').click()
    panel = page.locator("#mrsm-jupyter-sidebar")
    expect(panel).to_be_visible()
    return page, panel, blocked


def leaf(panel: Locator, keys: str) -> Locator:
    return panel.locator(f'.jp-MrsmPanel-pipe[data-keys="{keys}"]')


def pipe_action(page: Page, item: Locator, action: str) -> None:
    """Open the pipe's toolbar (the ⋯ button) and click ``action``."""
    toolbar = item.locator(".jp-MrsmPanel-pipeActions")
    if toolbar.is_hidden():
        item.locator(".jp-MrsmPanel-more").click()
    toolbar.get_by_role("button", name=re.compile(f"^{action} ")).click()


def check_tree_and_filters(panel: Locator) -> None:
    """The demo pipes as connector > metric > location, each with facts and a sparkline; the
    keys filter and the tags filter (answered by the server) narrow the tree."""
    expect(panel.locator(".jp-MrsmPanel-instanceSelect")).to_have_value("sql:local")  # the setting
    demo = panel.locator('.jp-MrsmPanel-connector[data-connector="demo"]')
    expect(demo.locator('.jp-MrsmPanel-metric[data-metric="temperature"]')).to_be_visible()
    temperature = leaf(panel, "demo / temperature / campus")
    expect(temperature.locator(".jp-MrsmPanel-pipeName")).to_have_text("campus")
    expect(temperature.locator(".jp-MrsmPanel-facts")).to_contain_text("1,872 rows")
    expect(temperature.locator(".jp-MrsmPanel-facts")).to_contain_text("newest 2024-01-04 05:50 UTC")
    sparkline = temperature.locator("svg.jp-MrsmPanel-sparkline")
    expect(sparkline).to_be_visible()
    counts = [int(c) for c in (sparkline.get_attribute("data-counts") or "").split(",")]
    assert sum(counts) == 1872 and len(counts) == 24, counts

    panel.locator(".jp-MrsmPanel-filter").fill("sidebar copy")
    expect(temperature).to_be_hidden()
    expect(demo).to_be_hidden()
    expect(leaf(panel, "sql:local / sidebar_copy")).to_be_visible()
    panel.locator(".jp-MrsmPanel-filter").fill("")
    panel.locator(".jp-MrsmPanel-tags").fill("demo")
    expect(leaf(panel, "sql:local / sidebar_copy")).to_have_count(0)
    expect(panel.locator(".jp-MrsmPanel-pipe")).to_have_count(2)
    panel.locator(".jp-MrsmPanel-tags").fill("")
    expect(leaf(panel, "sql:local / sidebar_copy")).to_be_visible()


def check_pipe_actions(page: Page, panel: Locator) -> None:
    """Sync fills the copy (0 -> 3 rows), "Notebook" inserts code into the open notebook, and
    Clear asks first: cancelled, nothing happens; confirmed, the rows are gone."""
    copy = leaf(panel, "sql:local / sidebar_copy")
    facts = copy.locator(".jp-MrsmPanel-facts")
    expect(facts).to_contain_text("0 rows")
    pipe_action(page, copy, "Sync")
    expect(facts).to_contain_text("3 rows")
    expect(copy.locator(".jp-MrsmPanel-pipeMessage")).to_contain_text("inserted 3")
    pipe_action(page, copy, "Verify")
    expect(copy.locator(".jp-MrsmPanel-pipeMessage")).to_contain_text("verified")
    panel.screenshot(path=SCREENSHOTS / "sidebar.png")

    pipe_action(page, copy, "Open")
    expect(page.locator(".jp-Notebook .jp-Cell").last).to_contain_text(
        'mrsm.Pipe("sql:local", "sidebar_copy", None, instance="sql:local")'
    )

    pipe_action(page, copy, "Delete every row")
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Delete every row of sql:local / sidebar_copy")
    dialog.get_by_role("button", name="Cancel").click()
    expect(facts).to_contain_text("3 rows")
    pipe_action(page, copy, "Delete every row")
    page.locator(".jp-Dialog").get_by_role("button", name="Clear").click()
    expect(facts).to_contain_text("0 rows")


def check_new_pipe_form(page: Page, panel: Locator) -> None:
    """The form registers a pipe with its columns; Delete (confirmed) removes it again."""
    panel.get_by_role("button", name="Register a new pipe").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_label("Connector").fill("sidebar_new")
    dialog.get_by_label("Metric").fill("sidebar_form")
    dialog.get_by_label("Datetime column").fill("dt")
    dialog.get_by_role("button", name="Register").click()
    expect(leaf(panel, "sidebar_new / sidebar_form").locator(".jp-MrsmPanel-facts")).to_contain_text("0 rows")
    registered = mrsm.Pipe("sidebar_new", "sidebar_form", instance="sql:local")
    assert registered.instance_connector.get_pipe_parameters(registered)["columns"] == {"datetime": "dt"}
    pipe_action(page, leaf(panel, "sidebar_new / sidebar_form"), "Drop the table")
    page.locator(".jp-Dialog").get_by_role("button", name="Delete").click()
    expect(leaf(panel, "sidebar_new / sidebar_form")).to_have_count(0)
    assert not registered.is_registered


def check_jobs_and_log(page: Page, panel: Locator, job: Job) -> None:
    """The job is listed running; its log follows live in the viewer; stopping it from Python
    shows in the sidebar without a click (the refresh interval setting is 1 s)."""
    row = panel.locator(f'.jp-MrsmPanel-job[data-job="{JOB}"]')
    expect(row.locator(".jp-MrsmPanel-jobState")).to_have_text("running")
    row.get_by_role("button", name=f"Show the log of job {JOB}").click()
    viewer = page.locator(".jp-MrsmLogViewer")
    expect(viewer.locator(".jp-MrsmLogViewer-status")).to_contain_text("Following the log")
    expect(viewer.locator(".jp-MrsmLogViewer-line", has_text="tick 0")).to_have_count(1)
    # Lines written after the viewer opened arrive over the websocket.
    seen = viewer.locator(".jp-MrsmLogViewer-line").count()
    expect(viewer.locator(".jp-MrsmLogViewer-line").nth(seen + 1)).to_contain_text("tick")
    page.screenshot(path=SCREENSHOTS / "sidebar-log.png")
    job.stop()
    expect(panel.locator(f'.jp-MrsmPanel-job[data-job="{JOB}"] .jp-MrsmPanel-jobState')).to_have_text(
        "stopped", timeout=10_000
    )


def check_dark_theme(page: Page, panel: Locator) -> None:
    """The panel follows JupyterLab's theme through its CSS variables."""
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
    rgb = page.evaluate(
        "() => getComputedStyle(document.querySelector('#mrsm-jupyter-sidebar')).backgroundColor"
    )
    red, green, blue = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    assert red + green + blue < 3 * 80, f"the panel's background is not dark: {rgb}"
    text = page.evaluate("() => getComputedStyle(document.querySelector('.jp-MrsmPanel-facts')).color")
    assert sum(int(v) for v in re.findall(r"\d+", text)[:3]) > 3 * 120, f"text is not light: {text}"
    panel.screenshot(path=SCREENSHOTS / "sidebar-dark.png")


def test_sidebar_tree_actions_jobs_and_logs(
    demo_pipes: list[mrsm.Pipe],
    copy_pipe: mrsm.Pipe,
    job: Job,
    lab: LabServer,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    # With a kernelspec, the kernel starts without a "Select Kernel" dialog (which takes focus).
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, lab.root / NOTEBOOK)
    page, panel, blocked = open_sidebar(browser, lab, f"lab/tree/{NOTEBOOK}?reset")
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        check_tree_and_filters(panel)
        check_pipe_actions(page, panel)
        check_new_pipe_form(page, panel)
        check_jobs_and_log(page, panel, job)
        commands = page.evaluate(
            "() => ['mrsm:open-sidebar', 'mrsm:refresh', 'mrsm:new-pipe']"
            ".map(id => window.jupyterapp.commands.hasCommand(id))"
        )
        assert commands == [True, True, True]
        check_dark_theme(page, panel)
    except BaseException:
        page.screenshot(path=SCREENSHOTS / "sidebar-failure.png")
        raise
    finally:
        page.close()
    assert blocked == [], f"the page tried to load from other hosts: {blocked}"


@pytest.mark.parametrize("extension_visible", [False], indirect=True)
def test_sidebar_says_when_the_server_extension_is_missing(
    lab: LabServer,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    page, panel, _ = open_sidebar(browser, lab)
    try:
        expect(panel.locator(".jp-MrsmPanel-status.jp-mod-error")).to_contain_text(
            "server extension is not available"
        )
        expect(panel.locator(".jp-MrsmPanel-pipe")).to_have_count(0)
    finally:
        page.close()
