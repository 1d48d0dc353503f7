"""Record the quickstart as an animated GIF: JupyterLab in Debian's chromium, frame by frame.

    python docs/screencast/record.py                       # docs/img/quickstart.gif
    python docs/screencast/record.py --output /tmp/s.gif --frames-per-step 1 --width 640

A JupyterLab server starts on a temporary root with this package's labextension and server
extension visible to it alone (as ``tests/ui/test_sidebar.py`` does). The script types nothing
by hand: it opens a short notebook, runs its cells one by one (load the extension, sync a
pipe, open the pipe widget, start a background job with ``%%job``), then opens the Meerschaum
sidebar and watches the job and the pipe's growing row count there. Each step leaves
screenshots; Debian's ffmpeg turns them into a GIF with one palette for the whole clip.

Never ``playwright install``: the browser is the system chromium (``MRSM_TEST_CHROMIUM``
overrides its path). CI runs this with one frame per step (``tests/ui/test_screencast.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from playwright.sync_api import Locator, Page, expect, sync_playwright
from tqdm import tqdm

from mrsm_jupyter.config import is_connector_variable

REPO = Path(__file__).resolve().parents[2]
PREBUILT = REPO / "mrsm_jupyter" / "labextension"
SERVER_CONFIG = REPO / "jupyter-config" / "server-config" / "mrsm_jupyter.json"
CHROMIUM = os.environ.get("MRSM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CHROMIUM_ARGS += ["--disable-component-update", "--disable-sync", "--no-first-run"]
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
FAILURE_SCREENSHOT = Path(tempfile.gettempdir()) / "mrsm-screencast-failure.png"
VIEWPORT = {"width": 1280, "height": 800}
JOB = "greenhouse-feed"
NOTEBOOK = "quickstart-demo.ipynb"
# The notebook the screencast runs: the quickstart's path, in as few cells as it takes.
CELLS = [
    (
        "markdown",
        "# mrsm_jupyter in 30 seconds\nLoad the extension, sync a pipe, open its widget, start a job.",
    ),
    ("code", "%load_ext mrsm_jupyter"),
    (
        "code",
        "import mrsm_jupyter as mrsm, pandas as pd\n"
        'pipe = mrsm.Pipe("demo", "temperature", "greenhouse", columns={"datetime": "ts"})\n'
        'hours = pd.date_range("2024-05-01", periods=48, freq="h", tz="UTC")\n'
        'pipe.sync(pd.DataFrame({"ts": hours, "temperature": [20 + (h % 24) / 4 for h in range(48)]}))',
    ),
    ("code", "from mrsm_jupyter.jupyter.widgets import PipeWidget\nPipeWidget(pipe)"),
    (
        "code",
        f"%%job {JOB}\n"
        "import time, mrsm_jupyter as mrsm, pandas as pd\n"
        'pipe = mrsm.Pipe("demo", "temperature", "greenhouse", columns={"datetime": "ts"})\n'
        "for hour in range(48, 48 + 600):  # one new reading every 2 seconds\n"
        '    ts = pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(hours=hour)\n'
        '    pipe.sync(pd.DataFrame({"ts": [ts], "temperature": [20 + (hour % 24) / 4]}))\n'
        "    time.sleep(2)",
    ),
]
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
class Lab:
    url: str
    token: str


class Frames:
    """Screenshots numbered in order; each step's view is held for ``per_step`` frames."""

    def __init__(self, directory: Path, per_step: int) -> None:
        self.directory = directory
        self.per_step = per_step
        self.count = 0

    def capture(self, page: Page) -> None:
        first = self.directory / f"frame-{self.count:04d}.png"
        page.screenshot(path=first)
        self.count += 1
        for _ in range(self.per_step - 1):
            shutil.copy(first, self.directory / f"frame-{self.count:04d}.png")
            self.count += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(work: Path) -> dict[str, str]:
    """The notebook, settings and Jupyter paths of a server that sees only this package; returns
    its environment (the mrsm root is shared with this process, which cleans the job up)."""
    if not (PREBUILT / "package.json").exists():
        raise SystemExit(f"No prebuilt labextension in {PREBUILT}: run `cd labextension && jlpm build:prod`.")
    (work / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook()
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    notebook.cells = [make[kind](source) for kind, source in CELLS]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, work / "notebooks" / NOTEBOOK)
    for name, values in LAB_SETTINGS.items():
        plugin_dir, _, file_name = name.rpartition("/")
        path = work / "settings" / plugin_dir / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    (work / "data" / "labextensions").mkdir(parents=True)
    (work / "data" / "labextensions" / "mrsm-jupyter-labextension").symlink_to(PREBUILT)
    (work / "config_path" / "jupyter_server_config.d").mkdir(parents=True)
    shutil.copy(SERVER_CONFIG, work / "config_path" / "jupyter_server_config.d")
    os.environ["MRSM_JUPYTER_ROOT"] = str(work / "mrsm")
    env = {k: v for k, v in os.environ.items() if not is_connector_variable(k)}
    env |= {"JUPYTER_PATH": str(work / "data"), "JUPYTER_CONFIG_PATH": str(work / "config_path")}
    env |= {"JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    return env


@contextmanager
def jupyterlab(work: Path) -> Iterator[Lab]:
    env = prepare(work)
    lab = Lab(f"http://127.0.0.1:{free_port()}", secrets.token_hex(16))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root"]
    command += ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={lab.url.rsplit(':', 1)[1]}"]
    command += ["--ServerApp.port_retries=0", f"--IdentityProvider.token={lab.token}"]
    command += [f"--ServerApp.root_dir={work / 'notebooks'}", "--LabApp.news_url=None"]
    command += [
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    command += [
        f"--LabApp.user_settings_dir={work / 'settings'}",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
    ]
    with (work / "jupyterlab.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    try:
        wait_for_server(lab, process, work / "jupyterlab.log")
        yield lab
    finally:
        stop_server(lab, process)


def wait_for_server(lab: Lab, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={lab.token}", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"JupyterLab did not answer within 60 s:\n{log.read_text()[-3000:]}")


def stop_server(lab: Lab, process: subprocess.Popen[bytes]) -> None:
    request = urllib.request.Request(f"{lab.url}/api/shutdown?token={lab.token}", method="POST")
    try:
        urllib.request.urlopen(request, timeout=5).close()
        process.wait(timeout=15)
    except (urllib.error.URLError, ConnectionError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


def run_cells(page: Page, frames: Frames, bar: tqdm) -> None:  # type: ignore[type-arg]
    """Run the code cells one by one, a frame after each has run and drawn its output."""
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    expect(cells).to_have_count(sum(kind == "code" for kind, _ in CELLS), timeout=30_000)
    for index in range(cells.count()):
        prompt = cells.nth(index).locator(".jp-InputArea-prompt")
        run_cell(page, cells.nth(index), prompt)
        expect(prompt).to_have_text(re.compile(r"^\[\d+\]"), timeout=60_000)
        page.wait_for_timeout(500)  # outputs (the widget's table) draw after the reply
        frames.capture(page)
        bar.update()
    expect(page.locator(".mrsm-pipe-table .mrsm-facts")).to_contain_text("48")


def run_cell(page: Page, cell: Locator, prompt: Locator) -> None:
    """Select the cell and press Ctrl+Enter, again if it did not start: a kernel that has only
    just connected can be seen as missing by the notebook, which then runs nothing."""
    dialog = page.locator(".jp-Dialog")
    for _ in range(5):
        if dialog.is_visible():  # "Select Kernel", asked when the kernel was seen as missing
            dialog.get_by_role("button", name="Select").click()
            expect(dialog).to_be_hidden()
        cell.locator(".jp-InputArea-prompt").click()
        page.keyboard.press("Control+Enter")
        try:
            expect(prompt).to_have_text(re.compile(r"^\[(\*|\d+)\]"), timeout=5_000)
            return
        except AssertionError:
            continue
    raise SystemExit(f"The notebook did not run cell {cell.inner_text()[:40]!r} five times over.")


def watch_sidebar(page: Page, frames: Frames, bar: tqdm) -> None:  # type: ignore[type-arg]
    page.locator('.jp-SideBar [data-id="mrsm-jupyter-sidebar"]').click()
    panel = page.locator("#mrsm-jupyter-sidebar")
    state = panel.locator(f'.jp-MrsmPanel-job[data-job="{JOB}"] .jp-MrsmPanel-jobState')
    leaf = panel.locator('.jp-MrsmPanel-pipe[data-keys="demo / temperature / greenhouse"]')
    facts = leaf.locator(".jp-MrsmPanel-facts")
    refresh = panel.locator(".jp-MrsmPanel-refresh")
    refresh.click()  # it loaded with the page, before the job
    expect(state).to_have_text("running", timeout=60_000)
    # Facts load lazily, and wait while the job's kernel holds the DuckDB file for a sync.
    expect(facts).to_contain_text("48 rows", timeout=30_000)
    expect(panel.get_by_text("Loading…")).to_be_hidden()
    frames.capture(page)
    # The job's kernel starts, then syncs a reading every 2 s: Refresh (as a user would)
    # until the sidebar counts them.
    for _ in range(20):
        page.wait_for_timeout(3_000)
        refresh_facts(page, refresh, facts)
        if rows_shown(facts) > 48:
            break
    assert rows_shown(facts) > 48, f"the job synced nothing in a minute: {facts.inner_text()!r}"
    expect(panel.get_by_text("Loading…")).to_be_hidden()
    expect(facts).to_contain_text(re.compile(r"\d\s+rows"))
    frames.capture(page)
    bar.update()


def refresh_facts(page: Page, refresh: Locator, facts: Locator) -> None:
    """Click the sidebar's refresh and wait for the facts it renders anew: until the old node
    is gone, the old text would still read as the answer."""
    old = facts.element_handle()
    refresh.click()
    page.wait_for_function("node => !node.isConnected", arg=old, timeout=30_000)
    expect(facts).to_contain_text(re.compile(r"\d\s+rows"), timeout=30_000)


def rows_shown(facts: Locator) -> int:
    found = re.search(r"([\d,]+)\s+rows", facts.inner_text())
    return int(found[1].replace(",", "")) if found else 0


def record(output: Path, frames_per_step: int, width: int) -> Path:
    """Drive JupyterLab through the quickstart and write the GIF to ``output``."""
    steps = sum(kind == "code" for kind, _ in CELLS) + 1
    with tempfile.TemporaryDirectory(prefix="mrsm-screencast-") as tmp:
        work = Path(tmp)
        (work / "frames").mkdir()
        frames = Frames(work / "frames", frames_per_step)
        with (
            jupyterlab(work) as lab,
            sync_playwright() as playwright,
            tqdm(total=steps, desc="screencast", unit="step") as bar,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?reset&token={lab.token}")
                page.wait_for_function(KERNEL_READY_JS, timeout=60_000, polling=200)
                run_cells(page, frames, bar)
                watch_sidebar(page, frames, bar)
            except BaseException:
                page.screenshot(path=FAILURE_SCREENSHOT)
                print(f"The page as it was: {FAILURE_SCREENSHOT}", file=sys.stderr)
                raise
            finally:
                browser.close()
                stop_job()
        return assemble(work / "frames", output, width)


def stop_job() -> None:
    from mrsm_jupyter.jobs.api import Job  # noqa: PLC0415 (MRSM_JUPYTER_ROOT is set by now)

    job = Job(JOB)
    if job.exists:
        job.stop()
        job.delete()


def assemble(frames: Path, output: Path, width: int) -> Path:
    """One palette for the clip, so the GIF stays small and its colours steady."""
    output.parent.mkdir(parents=True, exist_ok=True)
    graph = f"fps=1,scale={width}:-1:flags=lanczos,split[a][b];[a]palettegen=max_colors=96[p];"
    graph += "[b][p]paletteuse=dither=none"
    command = ["ffmpeg", "-loglevel", "error", "-y", "-framerate", "1", "-i", str(frames / "frame-%04d.png")]
    command += ["-filter_complex", graph, "-loop", "0", str(output)]
    subprocess.run(command, check=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "img" / "quickstart.gif")
    parser.add_argument("--frames-per-step", type=int, default=2, help="seconds each step is shown")
    parser.add_argument("--width", type=int, default=800, help="width of the GIF in pixels")
    args = parser.parse_args(argv)
    path = record(args.output, args.frames_per_step, args.width)
    print(f"Wrote {path} ({path.stat().st_size:,} bytes).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
