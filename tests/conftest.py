"""Fixtures shared by the suite: a root directory per session and one fixture over every instance.

Server flavors run against the real local servers. Their URIs can be overridden with
``MRSM_TEST_POSTGRESQL`` and ``MRSM_TEST_MARIADB`` (each pytest-xdist worker gets its own database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

POSTGRESQL_ADMIN = os.environ.get("MRSM_TEST_POSTGRESQL", "postgresql://postgres@localhost:5432/postgres")
MARIADB_ADMIN = os.environ.get("MRSM_TEST_MARIADB", "mysql://root@127.0.0.1:3306/test")
INSTANCE_FLAVORS = ["duckdb", "duckdb_memory", "sqlite", "postgresql", "mariadb"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run the longer (slow-marked) tests too")
    parser.addoption("--update-golden", action="store_true", help="rewrite the golden SQL files")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow") or os.environ.get("MRSM_TEST_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow or MRSM_TEST_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", autouse=True)
def root_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("mrsm_root")
    os.environ["MRSM_JUPYTER_ROOT"] = str(root)
    yield root


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


@pytest.fixture(params=INSTANCE_FLAVORS)
def instance(request: pytest.FixtureRequest, instance_uris: dict[str, str]) -> str:
    """Instance keys, one per flavor; the connector is defined through MRSM_SQL_<LABEL>."""
    label = f"test{request.param.replace('_', '')}"
    os.environ[f"MRSM_SQL_{label.upper()}"] = instance_uris[request.param]
    return f"sql:{label}"


@pytest.fixture
def metric() -> str:
    """A metric key no other test uses, so tests never see each other's pipes."""
    return f"m{uuid.uuid4().hex[:10]}"
