"""Fixtures shared by the suite: a root directory per session and one fixture over every instance.

Server flavors run against the real local servers. Their URIs can be overridden with
``MRSM_TEST_POSTGRESQL`` and ``MRSM_TEST_MARIADB`` (each pytest-xdist worker gets its own database).
The ``api`` flavor is a real Jupyter server (one per worker) whose own instance is a DuckDB file.
The ``influxdb`` flavor is a real ``influxd`` (one per worker, started by ``influxdb_server.py``).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pymysql
import pytest
import sqlalchemy as sa
from influxdb_server import influxdb_server

# jp_serverapp and jp_fetch (tests/test_server_security.py). It runs coroutine tests itself:
# no pytest-asyncio (whose asyncio_mode=auto makes jp_fetch time out).
pytest_plugins = ["pytest_jupyter.jupyter_server"]
POSTGRESQL_ADMIN = os.environ.get("MRSM_TEST_POSTGRESQL", "postgresql://postgres@localhost:5432/postgres")
MARIADB_ADMIN = os.environ.get("MRSM_TEST_MARIADB", "mysql://root@127.0.0.1:3306/test")
INSTANCE_FLAVORS = ["duckdb", "duckdb_memory", "sqlite", "postgresql", "mariadb", "api", "influxdb"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run the longer (slow-marked) tests too")
    parser.addoption("--update-golden", action="store_true", help="rewrite the golden SQL files")


# Contract tests that cannot apply to a flavor, and why. Strict: a gap that closes fails
# until it is removed from here.
_SQL_SOURCE = (
    "the test uses its instance as a SQL source (fetch.definition); an api: connector as a source "
    "reads a remote pipe (fetch.pipe), as Meerschaum's does, and runs no SQL sent by a client"
)
_INFLUX_SOURCE = (
    "the test uses its instance as a SQL source (fetch.definition); an influxdb: connector as a "
    "source reads a measurement (fetch.measurement), and InfluxQL is not SQL"
)
_INFLUX_KEYLESS = (
    "InfluxDB stores every row at a time, and one point per time and tags: a pipe without a "
    "datetime column, or rows appended with repeated keys, cannot be stored there"
)
KNOWN_GAPS = {
    ("test_sql_source_pipes_fetch_their_definition_incrementally", "api"): _SQL_SOURCE,
    ("test_fetching_without_a_source_says_what_to_do", "api"): _SQL_SOURCE,
    ("test_sql_source_pipes_fetch_their_definition_incrementally", "influxdb"): _INFLUX_SOURCE,
    ("test_fetching_without_a_source_says_what_to_do", "influxdb"): _INFLUX_SOURCE,
    ("test_deduplicate", "influxdb"): _INFLUX_KEYLESS,
}


def _mark_known_gaps(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        flavor = callspec.params.get("instance") if callspec else None
        reason = KNOWN_GAPS.get((getattr(item, "originalname", item.name), flavor))
        if reason:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark_known_gaps(items)
    if config.getoption("--slow") or os.environ.get("MRSM_TEST_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow or MRSM_TEST_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _worker() -> str:
    """This worker's name, prefixed by ``MRSM_TEST_RUN`` so that two test runs on one machine
    (two checkouts, say) never share a database."""
    return os.environ.get("MRSM_TEST_RUN", "") + os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", autouse=True)
def root_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("mrsm_root")
    os.environ["MRSM_JUPYTER_ROOT"] = str(root)
    yield root
    end_processes_under(root)  # e.g. the supervisor a Jupyter server started for saved jobs


def end_processes_under(root: Path) -> None:
    """Kill the processes started for ``root``: runners, kernels and supervisors carry it as
    ``MRSM_JUPYTER_ROOT`` in their environment or as their ``--root`` argument."""
    leftovers = []
    for proc in psutil.process_iter():
        try:
            if proc.pid == os.getpid():
                continue
            if proc.environ().get("MRSM_JUPYTER_ROOT") == str(root) or str(root) in proc.cmdline():
                proc.kill()
                leftovers.append(proc)
        except psutil.Error:
            continue
    psutil.wait_procs(leftovers, timeout=5)


def _postgresql_database(name: str) -> str:
    with psycopg.connect(POSTGRESQL_ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRESQL_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _mariadb_database(name: str) -> str:
    url = sa.make_url(MARIADB_ADMIN)
    con = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    with con.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}`")
    con.close()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def instance_uris(root_dir: Path) -> dict[str, str]:
    """One database per flavor for this worker, created fresh."""
    name = f"mrsm_test_{_worker()}"
    return {
        "duckdb": f"duckdb:///{root_dir / 'test.duckdb'}",
        "duckdb_memory": "duckdb:///:memory:",
        "sqlite": f"sqlite:///{root_dir / 'test.sqlite'}",
        "postgresql": _postgresql_database(name),
        "mariadb": _mariadb_database(name),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_server(proc: subprocess.Popen[bytes], url: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, headers={"Authorization": f"token {token}"}, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"jupyter server did not answer within 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Jupyter server with the mrsm_jupyter extension, on 127.0.0.1 with a token; its
    default instance (``sql:local``) is a DuckDB file in a root of its own. Yields its URI."""
    root = tmp_path_factory.mktemp("api_server_root")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "MRSM_JUPYTER_ROOT": str(root / "mrsm"), "JUPYTER_CONFIG_DIR": str(root / "config")}
    env |= {"JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTER_DATA_DIR": str(root / "data")}
    # An instance whose server does not answer (port 9, discard: nothing listens there).
    env["MRSM_SQL_UNREACHABLE"] = "postgresql+psycopg://mrsm@127.0.0.1:9/nowhere"
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}"]
    argv += ["--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    argv += ["--ServerApp.allow_unauthenticated_access=False", f"--ServerApp.root_dir={root}"]
    argv += ["--ServerApp.jpserver_extensions={'mrsm_jupyter': True}"]
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait_for_server(proc, f"http://127.0.0.1:{port}/mrsm/api/instances", token, log)
        yield f"http://127.0.0.1:{port}/?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def influxdb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real InfluxDB 1.x server of this worker's own (temp config, data and free ports);
    yields its URL."""
    with influxdb_server(tmp_path_factory.mktemp("influxdb")) as url:
        yield url


@pytest.fixture(params=INSTANCE_FLAVORS)
def instance(request: pytest.FixtureRequest, instance_uris: dict[str, str]) -> str:
    """Instance keys, one per flavor; the connector is defined through MRSM_<TYPE>_<LABEL>."""
    label = f"test{request.param.replace('_', '')}"
    if request.param == "api":
        os.environ[f"MRSM_API_{label.upper()}"] = request.getfixturevalue("api_server")
        return f"api:{label}"
    if request.param == "influxdb":
        url = request.getfixturevalue("influxdb_url")
        os.environ[f"MRSM_INFLUXDB_{label.upper()}"] = f"{url}/mrsm_test_{_worker()}"
        return f"influxdb:{label}"
    os.environ[f"MRSM_SQL_{label.upper()}"] = instance_uris[request.param]
    return f"sql:{label}"


@pytest.fixture
def metric() -> str:
    """A metric key no other test uses, so tests never see each other's pipes."""
    return f"m{uuid.uuid4().hex[:10]}"


@pytest.fixture
def jobs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A root of its own for a jobs test; every process started under it is ended afterwards.

    Runners, their children, kernels and supervisors all carry ``MRSM_JUPYTER_ROOT`` in their
    environment, which is how the teardown finds the ones a failing test left behind.
    """
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("MRSM_JUPYTER_ROOT", str(root))
    yield root
    end_processes_under(root)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny wheels for the plugin tests (``pip --no-index --find-links``, no network):
    ``tinyver`` 1.0 and 2.0, ``tinydep`` 1.0 (with ~400 kB of data, so reuse shows) and
    ``tinyuser`` 1.0, which requires ``tinydep``."""
    from plugin_helpers import build_wheel  # noqa: PLC0415 (a helper of the plugin tests only)

    house = tmp_path_factory.mktemp("wheelhouse")
    for version in ("1.0", "2.0"):
        build_wheel(house, "tinyver", version, {"tinyver/__init__.py": f"VERSION = {version!r}\n"})
    blob = bytes(range(256)) * 1600
    build_wheel(house, "tinydep", "1.0", {"tinydep/__init__.py": "ANSWER = 42\n", "tinydep/blob.bin": blob})
    build_wheel(
        house, "tinyuser", "1.0", {"tinyuser/__init__.py": "from tinydep import ANSWER\n"}, ["tinydep>=1"]
    )
    return house


@pytest.fixture
def plugin_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheelhouse: Path) -> Iterator[Path]:
    """A root of its own for a plugin test (its plugins directory and environments), with pip
    pointed at the wheelhouse only."""
    from mrsm_jupyter.plugins.manager import reload_plugins  # noqa: PLC0415

    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("MRSM_JUPYTER_ROOT", str(root))
    monkeypatch.delenv("MRSM_JUPYTER_PLUGINS_DIR", raising=False)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    reload_plugins()
    yield root
    reload_plugins()
