"""The hooks (mrsm_jupyter/plugins/hookspecs.py), each through a real plugin: actions from
``%mrsm``, ``jupyter mrsm`` and Python; pre/post sync; a connector type that is an instance
passing the instance contract; routes served, authenticated, by a real Jupyter server.
The last test checks that every hook is documented and tested here."""

from __future__ import annotations

import inspect
import os
import re
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import test_contract
from conftest import _free_port, _wait_for_server
from plugin_helpers import write_plugin

from mrsm_jupyter import Pipe
from mrsm_jupyter.actions.grammar import parse_action
from mrsm_jupyter.actions.registry import run_action
from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins import hookspecs
from mrsm_jupyter.plugins.api import install_plugin
from mrsm_jupyter.plugins.manager import reload_plugins

HOOKY = """
from mrsm_jupyter.actions.outcome import ActionOutcome
from mrsm_jupyter.plugins import hookimpl

CALLS = []


def greet(request, context):
    return ActionOutcome(request.words, f"hello from hooky to {request.instance or 'everyone'}")


@hookimpl
def register_actions():
    # "show pipes" is a built-in action: refused, the built-in one stays.
    return {"greet world": greet, "show pipes": greet}


@hookimpl
def pre_sync(pipe):
    CALLS.append(("pre", pipe.metric_key))
    if pipe.metric_key.startswith("forbidden"):
        raise ValueError("this metric is not synced")


@hookimpl
def post_sync(pipe, result):
    CALLS.append(("post", pipe.metric_key, result.inserted))
"""

TINYDB = """
from mrsm_jupyter.config import root_dir
from mrsm_jupyter.connectors.registry import make_connector
from mrsm_jupyter.connectors.sql.connector import SQLConnector
from mrsm_jupyter.plugins import hookimpl


class TinyDBConnector(SQLConnector):
    \"\"\"An instance of its own kind: one DuckDB file per label, in the root.\"\"\"

    type = "tinydb"

    def __init__(self, label):
        super().__init__(label, f"duckdb:///{root_dir() / f'tinydb-{label}.duckdb'}")


@hookimpl
def register_connectors():
    make_connector("tinydb", needs_attributes=False)(lambda label, attributes: TinyDBConnector(label))
"""

ROUTY = """
from jupyter_server.base.handlers import APIHandler
from mrsm_jupyter.plugins import hookimpl


class StationHandler(APIHandler):
    def get(self, station):
        self.finish({"station": station, "user": self.current_user.username})

    def post(self, station):
        self.finish({"posted": station})


class NotAHandler:
    pass


@hookimpl
def server_routes():
    return [("stations/{station}", StationHandler), ("plain", NotAHandler)]
"""

CRASHY = """
import os

def fetch(pipe, begin, end):
    os._exit(1)
"""

STEADY = """
def fetch(pipe, begin, end):
    return [{"dt": "2024-01-01", "v": 1}, {"dt": "2024-01-02", "v": 2}]
"""


def test_register_actions_adds_an_action_to_python_and_help(plugin_root: Path, tmp_path: Path) -> None:
    install_plugin(str(write_plugin(tmp_path / "src", "hooky", HOOKY)))
    outcome = run_action(parse_action("greet world -i sql:memory"))
    assert outcome.message == "hello from hooky to sql:memory"
    assert "greet world" in run_action(parse_action("--help")).message
    # The built-in "show pipes" was not replaced.
    assert run_action(parse_action("show pipes -i sql:memory")).message.endswith("match (no keys).")


def test_plugin_actions_run_from_the_command_line(plugin_root: Path, tmp_path: Path) -> None:
    install_plugin(str(write_plugin(tmp_path / "src", "hooky", HOOKY)))
    done = subprocess.run(
        [sys.executable, "-m", "mrsm_jupyter.cli", "greet", "world"],
        env={**os.environ, "MRSM_JUPYTER_ROOT": str(plugin_root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from hooky to everyone"


def test_plugin_actions_run_from_the_magic(plugin_root: Path, tmp_path: Path) -> None:
    from IPython.core.interactiveshell import InteractiveShell  # noqa: PLC0415 (jupyter extra)

    install_plugin(str(write_plugin(tmp_path / "src", "hooky", HOOKY)))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mrsm_jupyter")
    try:
        outcome = shell.run_line_magic("mrsm", "greet world -i sql:memory")
    finally:
        shell.run_line_magic("unload_ext", "mrsm_jupyter")
    assert outcome.message == "hello from hooky to sql:memory"


def test_pre_sync_and_post_sync_hooks(plugin_root: Path, tmp_path: Path, metric: str) -> None:
    install_plugin(str(write_plugin(tmp_path / "src", "hooky", HOOKY)))
    pipe = Pipe("demo", metric, instance="sql:memory", columns={"datetime": "dt"})
    pipe.sync([{"dt": "2024-01-01", "v": 1}, {"dt": "2024-01-02", "v": 2}])
    calls = sys.modules["mrsm_plugins.hooky"].CALLS
    assert calls == [("pre", metric), ("post", metric, 2)]
    forbidden = Pipe("demo", f"forbidden{metric}", instance="sql:memory", columns={"datetime": "dt"})
    with pytest.raises(PluginError) as caught:
        forbidden.sync([{"dt": "2024-01-01", "v": 1}])
    assert str(caught.value).startswith(
        f"plugin 'hooky' (for {forbidden}): its pre_sync hook raised ValueError"
    )
    assert not forbidden.exists()


def test_a_plugin_whose_hooks_fail_to_load_is_reported_and_the_rest_work(
    plugin_root: Path, tmp_path: Path, metric: str
) -> None:
    install_plugin(str(write_plugin(tmp_path / "src", "hooky", HOOKY)))
    install_plugin(
        str(write_plugin(tmp_path / "src", "wrecked", "from mrsm_jupyter.plugins import hookimpl\n1/0\n"))
    )
    shown = run_action(parse_action("show plugins")).tables[0].rows
    assert [row[4] for row in shown] == ["yes", "broken: ZeroDivisionError: division by zero"]
    assert run_action(parse_action("greet world")).success


def _contract_tests() -> list[Callable[[str, str], None]]:
    # The one SQL-source test reads from 'sql:<label>' by name; it is not about the instance.
    skipped = {"test_sql_source_pipes_fetch_their_definition_incrementally"}
    return [
        function
        for name, function in inspect.getmembers(test_contract, inspect.isfunction)
        if name.startswith("test_")
        and name not in skipped
        and list(inspect.signature(function).parameters) == ["instance", "metric"]
    ]


@pytest.fixture(scope="module")
def tinydb_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tinydb:contract``: an instance connector type added by a plugin."""
    root = tmp_path_factory.mktemp("tinydb_root")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MRSM_JUPYTER_ROOT", str(root))
        reload_plugins()
        install_plugin(str(write_plugin(root.parent / "tinydb_src", "tinydb", TINYDB)))
        yield "tinydb:contract"
    reload_plugins()


@pytest.mark.parametrize("contract_test", _contract_tests(), ids=lambda f: f.__name__)
def test_a_plugin_instance_connector_passes_the_instance_contract(
    tinydb_instance: str, contract_test: Callable[[str, str], None]
) -> None:
    contract_test(tinydb_instance, f"m{uuid.uuid4().hex[:10]}")
    connector = Pipe("x", "y", instance=tinydb_instance).instance_connector
    assert type(connector).__name__ == "TinyDBConnector" and connector.keys == "tinydb:contract"


@pytest.fixture(scope="module")
def plugin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real Jupyter server whose root holds the ``routy`` plugin; yields (URL, token)."""
    root = tmp_path_factory.mktemp("plugin_server")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MRSM_JUPYTER_ROOT", str(root / "mrsm"))
        install_plugin(str(write_plugin(root / "src", "routy", ROUTY)))
        install_plugin(str(write_plugin(root / "src", "crashy", CRASHY)))
        install_plugin(str(write_plugin(root / "src", "steady", STEADY)))
    reload_plugins()
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "MRSM_JUPYTER_ROOT": str(root / "mrsm"), "JUPYTER_CONFIG_DIR": str(root / "config")}
    env |= {"JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTER_DATA_DIR": str(root / "data")}
    # Unauthenticated access is left allowed by the server: the plugin routes must refuse it themselves.
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}"]
    argv += ["--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    argv += [f"--ServerApp.root_dir={root}", "--ServerApp.jpserver_extensions={'mrsm_jupyter': True}"]
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait_for_server(proc, f"http://127.0.0.1:{port}/mrsm/api/instances", token, log)
        yield f"http://127.0.0.1:{port}/mrsm/api", token
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert "is not an APIHandler; it is not served" in log.read_text()


def test_server_routes_are_served_and_authenticated(plugin_server: tuple[str, str]) -> None:
    api, token = plugin_server
    url = f"{api}/plugins/routy"
    auth = {"Authorization": f"token {token}"}
    answer = httpx.get(f"{url}/stations/north%20pole", headers=auth, timeout=10)
    assert answer.status_code == 200 and answer.json() == {
        "station": "north pole",
        "user": answer.json()["user"],
    }
    assert httpx.post(f"{url}/stations/x", headers=auth, timeout=10).json() == {"posted": "x"}
    for method in ("GET", "POST"):
        refused = httpx.request(method, f"{url}/stations/north", timeout=10)
        assert refused.status_code == 403, refused.text
    assert (
        httpx.get(f"{url}/stations/north", headers={"Authorization": "token wrong"}, timeout=10).status_code
        == 403
    )
    assert httpx.get(f"{url}/plain", headers=auth, timeout=10).status_code == 404


def test_a_crashing_plugin_leaves_the_server_running(plugin_server: tuple[str, str]) -> None:
    api, token = plugin_server
    auth = {"Authorization": f"token {token}"}
    crashed = httpx.post(f"{api}/pipes/plugin:crashy/temps/None/sync", headers=auth, json={}, timeout=60)
    assert crashed.status_code == 400
    error = crashed.json()["error"]
    assert error.startswith(
        "plugin 'crashy' (for Pipe('plugin:crashy', 'temps', instance='sql:local')): fetch crashed"
    )
    assert httpx.get(f"{api}/instances", headers=auth, timeout=10).status_code == 200
    synced = httpx.post(f"{api}/pipes/plugin:steady/temps/None/sync", headers=auth, json={}, timeout=60)
    assert synced.status_code == 200 and synced.json()["inserted"] == 2


def _hook_names() -> list[str]:
    return [name for name, value in vars(hookspecs).items() if hasattr(value, "mrsm_jupyter_spec")]


def test_every_hook_is_documented_and_tested() -> None:
    names = _hook_names()
    assert sorted(names) == [
        "post_sync",
        "pre_sync",
        "register_actions",
        "register_connectors",
        "server_routes",
    ]
    this_file = Path(__file__).read_text()
    guide = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    for name in names:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"hook {name} has no docstring"
        assert re.search(rf"def {name}\(", this_file), f"hook {name} is implemented by no test plugin"
        assert f"`{name}" in guide, f"hook {name} is not in docs/plugins.md"
