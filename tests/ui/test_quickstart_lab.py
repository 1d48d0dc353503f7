"""The quickstart notebook in a real JupyterLab, driven through Debian's chromium.

A JupyterLab server starts on a temporary root holding a copy of ``notebooks/quickstart.ipynb``
without its outputs, so everything checked here was rendered by this run: the notebook is
opened, run from the Run menu, and the HTML tables, the pipe widget's table (anywidget, its
JavaScript loaded from the package) and the plotly charts must appear. Any request that leaves
127.0.0.1 (a CDN) is blocked and fails the test. Screenshots go to ``tests/ui/screenshots/``.

Never ``playwright install``: the browser is the system chromium (``MRSM_TEST_CHROMIUM``
overrides its path).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from mrsm_jupyter.config import is_connector_variable

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"
SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = os.environ.get("MRSM_TEST_CHROMIUM", "/usr/bin/chromium")
# Flags that keep chromium quiet, offline and working as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROMPTS = ".jp-Notebook .jp-CodeCell .jp-InputArea-prompt"
SERVER_START_SECONDS = 30
RUN_SECONDS = 60
# Settings for this server only: every cell in the page (no windowing); no news or update toasts.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
# Resolves once the notebook's kernel is connected and idle (clicking Run before that would ask
# for a kernel). `window.jupyterapp` exists because the server runs with expose_app_in_browser.
KERNEL_READY_JS = """async () => {
    const app = window.jupyterapp;
    if (!app) return false;
    await app.restored;
    const panel = app.shell.currentWidget;
    if (!panel || !panel.sessionContext) return false;
    await panel.sessionContext.ready;
    const kernel = panel.sessionContext.session?.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""


@dataclass(frozen=True)
class LabServer:
    url: str
    token: str
    root: Path

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_without_outputs(source: Path, target: Path) -> None:
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, target)


def write_lab_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        plugin_dir, _, file_name = name.rpartition("/")
        path = settings_dir / plugin_dir / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def wait_until_ready(server: LabServer, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/status?token={server.token}", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_SECONDS} s:\n{log.read_text()[-3000:]}")


def stop_server(server: LabServer, process: subprocess.Popen[bytes]) -> None:
    """Shut down through the API (which stops the kernels too), then make sure it is gone."""
    request = urllib.request.Request(f"{server.url}/api/shutdown?token={server.token}", method="POST")
    try:
        urllib.request.urlopen(request, timeout=5).close()
        process.wait(timeout=10)
    except (urllib.error.URLError, ConnectionError, subprocess.TimeoutExpired):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    root = tmp_path / "root"
    root.mkdir()
    copy_without_outputs(QUICKSTART, root / QUICKSTART.name)
    write_lab_settings(tmp_path / "settings")
    server = LabServer(url=f"http://127.0.0.1:{free_port()}", token=secrets.token_hex(16), root=root)
    env = {
        # Connectors other tests of this worker defined are not this server's business.
        **{k: v for k, v in os.environ.items() if not is_connector_variable(k)},
        # Nothing from the user's own Jupyter configuration, runtime files or workspaces.
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={urlsplit(server.url).port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={server.token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ]
    log = tmp_path / "jupyterlab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    try:
        wait_until_ready(server, process, log)
        yield server
    finally:
        stop_server(server, process)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"No chromium at {CHROMIUM}: install Debian's (`apt-get install -y chromium`) or point "
            "MRSM_TEST_CHROMIUM at one. Do not run `playwright install`."
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def block_other_hosts(page: Page) -> list[str]:
    """Abort every request that does not go to the local server; return their URLs."""
    blocked: list[str] = []

    def local_only(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", local_only)
    return blocked


def click_run_all_cells(page: Page) -> None:
    """Run > Run All Cells, as a user would (the menu bar may still be redrawn as plugins load)."""
    run_all = page.locator(".lm-Menu").get_by_role("menuitem", name=re.compile(r"^Run All Cells"))
    for _ in range(5):
        try:
            page.get_by_role("menuitem", name="Run", exact=True).click(timeout=10_000)
            run_all.wait_for(state="visible", timeout=2_000)
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            continue
        run_all.click()
        return
    pytest.fail("The Run menu did not open with a 'Run All Cells' item.")


def run_all_cells(page: Page) -> None:
    """Run all cells, again if none started: a kernel that has only just connected can still be
    seen as missing by the notebook, which then clears the cells instead of running them."""
    for _ in range(3):
        click_run_all_cells(page)
        try:
            page.wait_for_function(
                "selector => [...document.querySelectorAll(selector)]"
                ".some(p => /^\\[(\\*|\\d+)\\]/.test(p.textContent.trim()))",
                arg=PROMPTS,
                timeout=5_000,
            )
            return
        except PlaywrightTimeoutError:
            continue
    pytest.fail("Run All Cells started no cell three times over.")


def wait_for_all_cells(page: Page, code_cells: int) -> None:
    """Every code cell has an execution count, i.e. none is waiting or running (``[*]``)."""
    page.wait_for_function(
        """([selector, n]) => {
            const prompts = [...document.querySelectorAll(selector)];
            return prompts.length === n && prompts.every(p => /^\\[\\d+\\]:?$/.test(p.textContent.trim()));
        }""",
        arg=[PROMPTS, code_cells],
        timeout=RUN_SECONDS * 1000,
    )


def screenshot(locator: Locator, name: str) -> None:
    """The element, scrolled to the middle of the page (the notebook's sticky toolbar covers the top)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    locator.evaluate("element => element.scrollIntoView({block: 'center'})")
    locator.screenshot(path=SCREENSHOTS / name)


def check_outputs(notebook: Locator) -> None:
    errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"cells wrote errors: {errors.all_inner_texts()}"
    expect(notebook.get_by_text("Error displaying widget")).to_have_count(0)

    # HTML reprs: `show pipes`, `show rowcounts`.
    tables = notebook.locator(".jp-RenderedHTMLCommon table.mrsm-table")
    expect(tables.filter(has_text="Pipes on sql:local")).to_contain_text("greenhouse")
    expect(tables.filter(has_text="Row counts")).to_contain_text("234")

    # The pipe widget: facts and one page (20 rows) read by the kernel, drawn by the bundled ESM.
    widget = notebook.locator(".mrsm-pipe-table")
    expect(widget.locator(".mrsm-title")).to_have_text(
        "Pipe('demo', 'temperature', 'greenhouse', instance='sql:local')"
    )
    expect(widget.locator(".mrsm-facts")).to_contain_text("234")
    expect(widget.locator("table.mrsm-rows tr")).to_have_count(21)
    expect(widget.locator(".mrsm-where")).to_have_text("page 1 of 12")

    # Charts: the plotly_mimetype figure and the widget's FigureWidget, three sensors each.
    charts = notebook.locator(".js-plotly-plot")
    expect(charts).to_have_count(2)
    for index in range(2):
        expect(charts.nth(index).locator("svg.main-svg .scatterlayer .trace")).to_have_count(3)
        expect(charts.nth(index).locator(".legend")).to_contain_text("south")


def check_widget_talks_to_the_kernel(notebook: Locator) -> None:
    """Paging and the id selector go through the kernel, which reads the instance again."""
    widget = notebook.locator(".mrsm-pipe-table")
    first_row = widget.locator("table.mrsm-rows tr").nth(1)
    widget.get_by_role("button", name="next ▶").click()
    expect(widget.locator(".mrsm-where")).to_have_text("page 2 of 12")
    expect(first_row).to_contain_text("2024-05-01T06:00:00+00:00")

    notebook.locator(".widget-dropdown select").select_option("north")
    expect(widget.locator(".mrsm-where")).to_have_text("page 1 of 4")
    expect(widget.locator("table.mrsm-rows tr", has_text="south")).to_have_count(0)
    chart = notebook.locator(".jp-OutputArea-output:has(.mrsm-pipe-table) .js-plotly-plot")
    expect(chart.locator(".scatterlayer .trace")).to_have_count(1)
    assert chart.evaluate("plot => plot.data.map(trace => trace.name)") == ["temperature (north)"]


def test_quickstart_renders_tables_widget_and_charts_in_jupyterlab(lab: LabServer, browser: Browser) -> None:
    served = nbformat.read(lab.root / QUICKSTART.name, as_version=4)
    code_cells = sum(c.cell_type == "code" for c in served.cells)
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    blocked = block_other_hosts(page)
    try:
        page.goto(lab.notebook_url(QUICKSTART.name))
        page.wait_for_function(KERNEL_READY_JS, timeout=30_000, polling=200)
        run_all_cells(page)
        wait_for_all_cells(page, code_cells)
        notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
        check_outputs(notebook)
        screenshot(notebook.locator(".jp-OutputArea-output:has(.mrsm-pipe-table)"), "pipe-widget.png")
        screenshot(notebook.locator(".js-plotly-plot").first, "plotly-chart.png")
        check_widget_talks_to_the_kernel(notebook)
    except BaseException:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "failure.png")
        raise
    finally:
        page.close()
    assert blocked == [], f"the page tried to load from other hosts (a CDN?): {blocked}"
