"""The "Meerschaum" sidebar of the prebuilt labextension in a real JupyterLab, through chromium.

Reuses the JupyterLab and browser fixtures of ``test_quickstart_lab``. That server gets its own
empty ``JUPYTER_CONFIG_DIR`` and knows nothing of this package, so before it starts the
environment it inherits is given:

- ``JUPYTER_PATH`` with ``labextensions/mrsm-jupyter-labextension`` linked to the prebuilt
  ``mrsm_jupyter/labextension`` (``cd labextension && jlpm build:prod``), which is what
  ``jupyter labextension develop`` would link, but only for this server;
- ``JUPYTER_CONFIG_PATH`` with the package's own ``jupyter-config/server-config`` file, which
  enables the server extension (the REST API under ``mrsm/api/``).

A pipe with rows and a running job are created in the session's ``MRSM_JUPYTER_ROOT`` (which the
server inherits too); the sidebar must list both, with the pipe's row count and sync time.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from mrsm_jupyter.jobs.api import Job

PREBUILT = REPO / "mrsm_jupyter" / "labextension"
EXTENSION_NAME = "mrsm-jupyter-labextension"
SERVER_CONFIG = REPO / "jupyter-config" / "server-config" / "mrsm_jupyter.json"
JOB = "sidebar-sleeper"
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
    if with_server_extension:
        monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(config.parent))
    else:
        # An installed package enables the extension from its environment's etc/jupyter;
        # the server's own config dir (``lab`` uses tmp_path / "config") turns it off.
        (tmp_path / "config").mkdir(exist_ok=True)
        off = {"ServerApp": {"jpserver_extensions": {"mrsm_jupyter": False}}}
        (tmp_path / "config" / "jupyter_server_config.json").write_text(json.dumps(off))


@pytest.fixture
def pipe() -> Iterator[mrsm.Pipe]:
    pipe = mrsm.Pipe("sidebar_src", "sidebar_temperature", instance="sql:local", columns={"datetime": "dt"})
    pipe.register()
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    pipe.sync(pd.DataFrame({"dt": [t0 + timedelta(hours=h) for h in range(3)], "v": [1, 2, 3]}))
    yield pipe
    pipe.drop()
    pipe.delete()


@pytest.fixture
def job() -> Iterator[Job]:
    job = Job(JOB, command=[sys.executable, "-c", "import time; time.sleep(120)"])
    job.start()
    yield job
    job.stop()
    job.delete()


def open_sidebar(chromium: Browser, server: LabServer) -> tuple[Page, Locator, list[str]]:
    """JupyterLab's main page with the Meerschaum sidebar opened (clicked, as a user would),
    and the list of requests to other hosts that were blocked."""
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    blocked = block_other_hosts(page)
    page.goto(f"{server.url}/lab?reset&token={server.token}")
    page.wait_for_function(APP_RESTORED_JS, timeout=30_000, polling=200)
    page.locator('.jp-SideBar [data-id="mrsm-jupyter-sidebar"]').click()
    panel = page.locator("#mrsm-jupyter-sidebar")
    expect(panel).to_be_visible()
    return page, panel, blocked


def test_sidebar_lists_a_pipe_with_its_facts_and_a_running_job(
    pipe: mrsm.Pipe,
    job: Job,
    lab: LabServer,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    page, panel, blocked = open_sidebar(browser, lab)
    try:
        expect(panel.locator(".jp-MrsmPanel-instance").first).to_contain_text("sql:local")
        item = panel.locator(".jp-MrsmPanel-pipe", has_text="sidebar_temperature")
        expect(item).to_contain_text("sidebar_src / sidebar_temperature")
        expect(item.locator(".jp-MrsmPanel-facts")).to_contain_text("3 rows")
        expect(item.locator(".jp-MrsmPanel-facts")).to_contain_text("2024-05-01T02:00:00")

        # The filter hides pipes whose connector and metric do not match.
        panel.locator(".jp-MrsmPanel-filter").fill("no-such-metric")
        expect(item).to_be_hidden()
        panel.locator(".jp-MrsmPanel-filter").fill("sidebar_temp")
        expect(item).to_be_visible()

        row = panel.locator(f'.jp-MrsmPanel-job[data-job="{JOB}"]')
        expect(row.locator(".jp-MrsmPanel-jobState")).to_have_text("running")
        SCREENSHOTS.mkdir(exist_ok=True)
        panel.screenshot(path=SCREENSHOTS / "sidebar.png")

        # Stop goes through ServerConnection (cookie auth + XSRF header) to the REST action.
        row.get_by_role("button", name="Stop").click()
        expect(panel.locator(f'.jp-MrsmPanel-job[data-job="{JOB}"] .jp-MrsmPanel-jobState')).to_have_text(
            "stopped"
        )
        assert job.status == "stopped"
    except BaseException:
        SCREENSHOTS.mkdir(exist_ok=True)
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
