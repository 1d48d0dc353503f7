"""Plugins as sources: fetch, sync and register through a worker of the plugin's own
environment; errors, crashes, hangs and noise stay in the worker; names cannot escape the
root (R7); the install, show, setup and uninstall actions."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from plugin_helpers import write_plugin

from mrsm_jupyter import Pipe
from mrsm_jupyter.actions.errors import ConfirmationError
from mrsm_jupyter.actions.grammar import parse_action
from mrsm_jupyter.actions.registry import ActionContext, run_action
from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins.api import get_plugins, install_plugin, setup_plugin, uninstall_plugin
from mrsm_jupyter.plugins.loading import get_plugin
from mrsm_jupyter.plugins.names import inside, venvs_dir

WEATHER = """
    import sys
    from datetime import datetime, timezone
    __version__ = "0.3"
    required = []

    def register(pipe):
        return {"columns": {"datetime": "dt", "id": "station"}, "tags": ["weather"]}

    def fetch(pipe, begin, end):
        # Chunks, each a different kind of batch; begin comes from the pipe's sync time.
        import pandas as pd
        start = 0 if begin is None else begin.day
        day = lambda n: datetime(2024, 1, start + n, tzinfo=timezone.utc)
        yield [{"dt": day(1), "station": "north", "temp": 1.5}]
        yield {"dt": [day(2)], "station": ["south"], "temp": [2.5]}
        yield pd.DataFrame({"dt": [day(3)], "station": ["east"], "temp": [3.5]})
        print("fetched from", sys.prefix)
"""


def install(tmp_path: Path, name: str, code: str) -> None:
    install_plugin(str(write_plugin(tmp_path / "src", name, code)))


def test_register_gives_initial_parameters_and_fetch_syncs_chunks(
    plugin_root: Path, tmp_path: Path, metric: str
) -> None:
    install(tmp_path, "weather", WEATHER)
    pipe = Pipe("plugin:weather", metric, instance="sql:memory", tags=["mine"])
    pipe.register()
    assert pipe.columns == {"datetime": "dt", "id": "station"}
    assert pipe.tags == ["mine"]  # what the constructor gives wins over register()
    result = pipe.sync()
    assert (result.inserted, result.updated) == (3, 0)
    frame = pipe.get_data()
    assert list(frame["station"]) == ["north", "south", "east"]
    assert str(frame["dt"].dtype).startswith("datetime64")
    # The second fetch begins at the newest sync time (Jan 3) minus the backtrack (1 day).
    again = pipe.sync()
    assert again.inserted == 3 and pipe.get_rowcount() == 6
    assert pipe.get_sync_time() == datetime(2024, 1, 5, tzinfo=UTC)


def test_plugin_code_runs_in_its_own_environment(plugin_root: Path, tmp_path: Path, metric: str) -> None:
    install(
        tmp_path,
        "where",
        """
        import os, sys
        def fetch(pipe, begin, end):
            venv = os.environ["VIRTUAL_ENV"]
            return [{"dt": "2024-01-01", "prefix": sys.prefix, "venv": venv, "pid": os.getpid()}]
        """,
    )
    pipe = Pipe("plugin:where", metric, instance="sql:memory", columns={"datetime": "dt"})
    pipe.sync()
    row = pipe.get_data().iloc[0]
    expected = str(inside(venvs_dir(), "where"))
    assert row["prefix"] == expected and row["venv"] == expected
    assert row["pid"] != os.getpid()


def test_a_plugin_sync_hands_its_rows_to_the_kernel(plugin_root: Path, tmp_path: Path, metric: str) -> None:
    install(
        tmp_path,
        "pusher",
        """
        def sync(pipe):
            pipe.sync([{"dt": "2024-01-01", "v": 1}, {"dt": "2024-01-02", "v": 2}])
            pipe.sync(iter([[{"dt": "2024-01-03", "v": 3}]]))
            return True, "done"
        """,
    )
    pipe = Pipe("plugin:pusher", metric, instance="sql:memory", columns={"datetime": "dt"})
    assert pipe.sync().inserted == 3
    assert list(pipe.get_data()["v"]) == [1, 2, 3]


def test_sync_pipes_action_fetches_plugin_pipes(plugin_root: Path, tmp_path: Path, metric: str) -> None:
    install(tmp_path, "weather", WEATHER)
    Pipe("plugin:weather", metric, instance="sql:memory").register()
    outcome = run_action(parse_action(f"sync pipes -c plugin:weather -m {metric} -i sql:memory"))
    assert outcome.success, outcome.summary
    assert outcome.results[0].inserted == 3


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "def fetch(pipe, begin, end):\n    raise ValueError('the station is offline')",
            "raised ValueError: the station is offline",
        ),
        ("import os\ndef fetch(pipe, begin, end):\n    os._exit(3)", "crashed (exit status 3)"),
        ("import ctypes\ndef fetch(pipe, begin, end):\n    ctypes.string_at(0)", "crashed (exit status -11)"),
        ("import sys\ndef fetch(pipe, begin, end):\n    sys.exit('bye')", "raised SystemExit: bye"),
        ("def fetch(pipe, begin, end):\n    return 42", "cannot turn a int into rows"),
        (
            "raise ImportError('missing thing')\ndef fetch(pipe, begin, end):\n    pass",
            "ImportError: missing thing",
        ),
    ],
    ids=["raises", "exits", "segfaults", "sys-exit", "bad-return", "import-error"],
)
def test_failures_stay_in_the_worker_and_name_plugin_and_pipe(
    plugin_root: Path, tmp_path: Path, metric: str, code: str, expected: str
) -> None:
    install(tmp_path, "broken", code)
    pipe = Pipe("plugin:broken", metric, instance="sql:memory", columns={"datetime": "dt"})
    with pytest.raises(PluginError) as caught:
        pipe.sync()
    message = str(caught.value)
    assert message.startswith(f"plugin 'broken' (for {pipe}): fetch ")
    assert expected in message and "Fix the plugin" in message
    assert caught.value.plugin == "broken" and caught.value.pipe is pipe
    assert not pipe.exists()  # nothing was written


def test_a_hanging_plugin_is_stopped_after_its_timeout(
    plugin_root: Path, tmp_path: Path, metric: str
) -> None:
    install(
        tmp_path,
        "sleepy",
        """
        import subprocess, sys, time
        def fetch(pipe, begin, end):
            # A child of its own too: the whole process group must go.
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            print("about to hang", flush=True)
            time.sleep(120)
        """,
    )
    pipe = Pipe("plugin:sleepy", metric, instance="sql:memory", columns={"datetime": "dt"})
    pipe.parameters = {**pipe.parameters, "fetch": {"timeout_seconds": 1.5}}
    started = time.monotonic()
    with pytest.raises(PluginError, match=r"did not finish within 1.5 s and was stopped") as caught:
        pipe.sync()
    assert time.monotonic() - started < 15
    assert "about to hang" in str(caught.value)
    import psutil  # noqa: PLC0415

    sleepers = [
        p for p in psutil.process_iter(["cmdline"]) if "time.sleep(120)" in " ".join(p.info["cmdline"] or [])
    ]
    assert not [p for p in sleepers if p.status() != psutil.STATUS_ZOMBIE]


def test_a_noisy_plugin_keeps_only_the_tail_of_its_output(
    plugin_root: Path, tmp_path: Path, metric: str
) -> None:
    install(
        tmp_path,
        "noisy",
        """
        def fetch(pipe, begin, end):
            for i in range(200_000):
                print("line", i)
            raise RuntimeError("after much talk")
        """,
    )
    pipe = Pipe("plugin:noisy", metric, instance="sql:memory", columns={"datetime": "dt"})
    with pytest.raises(PluginError) as caught:
        pipe.sync()
    message = str(caught.value)
    assert "[199,960 earlier lines not kept]" in message and "line 199999" in message
    assert "line 5\n" not in message and len(message) < 5000


def test_plugin_names_cannot_reach_outside_the_root(plugin_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    for name in ("../outside", "/tmp", "a/b", "..%2foutside", "bad\x00name", "Upper", "", "x" * 65, "é"):
        with pytest.raises(PluginError, match="not a valid plugin name"):
            uninstall_plugin(name)
        with pytest.raises(PluginError):
            get_plugin(name)
    # A symlink planted where an environment would be is refused, not followed.
    (venvs_dir() / "evil").symlink_to(outside)
    with pytest.raises(PluginError, match="resolves outside"):
        uninstall_plugin("evil")
    with pytest.raises(PluginError, match="not a valid plugin name"):
        install_plugin(str(write_plugin(tmp_path / "src", "Bad-Name", "def fetch(p, b, e): pass")))
    assert (outside / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]


def test_install_show_setup_and_uninstall_actions(plugin_root: Path, tmp_path: Path) -> None:
    source = write_plugin(
        tmp_path / "src",
        "weather",
        WEATHER.replace("required = []", "required = ['tinyver==1.0']")
        + "\n    def setup():\n        import tinyver\n        return True, tinyver.VERSION\n",
    )
    installed = run_action(parse_action(["install", "plugin", str(source)]))
    assert installed.success and "Installed 1 plugin(s)" in installed.message
    assert installed.tables[0].rows[0][:2] == ("weather", "tinyver==1.0")
    shown = run_action(parse_action("show plugins"))
    assert shown.tables[0].rows == (
        ("weather", "0.3", "directory", "fetch, register, setup", "no", "tinyver==1.0"),
    )
    assert setup_plugin("weather").setup_value == [True, "1.0"]
    assert run_action(parse_action("setup plugins")).message == "Set up 1 plugin(s)."
    with pytest.raises(ConfirmationError):
        run_action(parse_action("uninstall plugin weather"))
    answered = run_action(parse_action("uninstall plugin weather"), ActionContext(confirm=lambda q: True))
    assert answered.message == "Uninstalled 1 plugin(s)."
    assert get_plugins() == [] and not (venvs_dir() / "weather").exists()
    missing = run_action(parse_action("uninstall plugin weather -y"))
    assert missing.message == "Uninstalled 0 plugin(s). Not installed: weather."


def test_a_package_plugin_and_a_plugins_dir_from_the_environment(
    tmp_path: Path, plugin_root: Path, monkeypatch: pytest.MonkeyPatch, metric: str
) -> None:
    monkeypatch.setenv("MRSM_JUPYTER_PLUGINS_DIR", str(tmp_path / "elsewhere"))
    package = tmp_path / "src" / "pkgplug"
    package.mkdir(parents=True)
    (package / "rows.py").write_text("ROWS = [{'dt': '2024-01-01', 'v': 7}]\n")
    (package / "__init__.py").write_text(
        "from .rows import ROWS\ndef fetch(pipe, begin, end):\n    return ROWS\n"
    )
    install_plugin(str(package))
    assert (tmp_path / "elsewhere" / "pkgplug" / "rows.py").exists()
    pipe = Pipe("plugin:pkgplug", metric, instance="sql:memory", columns={"datetime": "dt"})
    assert pipe.sync().inserted == 1


def test_unknown_plugins_and_missing_functions_say_what_to_do(
    plugin_root: Path, tmp_path: Path, metric: str
) -> None:
    missing = Pipe("plugin:nothere", metric, instance="sql:memory")
    missing.register()  # registering first and installing later is fine, as in Meerschaum
    assert missing.is_registered
    with pytest.raises(
        PluginError, match=r"plugin 'nothere'.*is not installed \(installed: none\).*install plugin"
    ):
        missing.sync()
    install(tmp_path, "empty", "required = []\n")
    with pytest.raises(PluginError, match=r"defines no sync\(\)"):
        Pipe("plugin:empty", metric, instance="sql:memory").sync()
    with pytest.raises(PluginError, match="required must be a literal"):
        install(tmp_path, "dynamic", "required = ['a' + 'b']\n")
