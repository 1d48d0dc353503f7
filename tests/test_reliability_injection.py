"""R5: SQL injection through pipe keys, column names, params, date bounds and magics, on every
SQL flavor, with a statement hook (``sql_capture.py``) proving that no user value reaches SQL
text (values travel as bound parameters; names only as quoted identifiers), and a catalog
snapshot proving that nothing but the hostile pipe's own table and registration appeared.
(REST requests get the same treatment in ``test_server_security.py``.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from sql_capture import StatementLog, capture

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.errors import MrsmError

MARKER = "inj3ct"
HOSTILE = [
    f"x'); DROP TABLE mrsm_pipes; -- {MARKER}",
    f'a"; DELETE FROM mrsm_pipes; -- {MARKER}',
    f"` OR 1=1; -- {MARKER}",
    f"\\'; SELECT 1; {MARKER}",
    f"%s %(x)s :x ? $1 {MARKER}",
    f"{MARKER}\u2019 OR \u02bc1\u02bc=\u02bc1",
]
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FLAVORS = ["duckdb", "sqlite", "postgresql", "mariadb"]


def define(flavor: str, uris: dict[str, str]) -> str:
    os.environ[f"MRSM_SQL_R5{flavor.upper()}"] = uris[flavor]
    return f"sql:r5{flavor}"


CATALOG = {
    # SQLAlchemy's MySQL reflection does not undo doubled backticks: ask the database itself.
    "sqlite": "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p "
    "WHERE m.type = 'table'",
    "mysql": "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE()",
    "postgresql": "SELECT table_name, column_name FROM information_schema.columns "
    "WHERE table_schema = current_schema()",
    "duckdb": "SELECT table_name, column_name FROM information_schema.columns",
}


def catalog(instance: str) -> tuple[set[tuple[str, str]], list[tuple[str, ...]]]:
    """(table, column) pairs and registrations, read with SQL the test owns."""
    connector: Any = get_connector(instance)
    with connector.db.session() as s:
        columns = {(str(t), str(c)) for t, c in s.fetchall(CATALOG[connector.flavor.name])}
        pipes = [tuple(map(str, row)) for row in s.fetchall("SELECT * FROM mrsm_pipes ORDER BY pipe_id")]
    return columns, pipes


def hostile_reads(pipe: mrsm.Pipe, column: str) -> list[Callable[[], Any]]:
    """Reads and deletes whose every user value is hostile."""
    calls: list[Callable[[], Any]] = []
    for value in HOSTILE:
        calls += [
            lambda v=value: pipe.get_data(params={column: v}),
            lambda v=value: pipe.get_data(params={column: [v, "_" + v]}),
            lambda v=value: pipe.get_data(params={v: 1}),
            lambda v=value: pipe.get_rowcount(params={column: v}, begin=T0),
            lambda v=value: pipe.get_data(begin=v),
            lambda v=value: pipe.get_data(end=f"2024-01-01{v}"),
            lambda v=value: pipe.get_data(select_columns=[v]),
            lambda v=value: pipe.get_distinct(v),
            lambda v=value: pipe.get_distinct(column, params={column: v}),
            lambda v=value: pipe.clear(params={column: v}),
            lambda v=value: pipe.clear(begin=v),
            lambda v=value: pipe.get_value(column, params={column: v}),
        ]
    return calls


def run_all(calls: list[Callable[[], Any]]) -> int:
    """Run each call; a refusal must be one of the engine's documented errors. Refusals counted."""
    refused = 0
    for call in calls:
        try:
            call()
        except MrsmError:
            refused += 1
    return refused


@pytest.mark.parametrize("flavor", FLAVORS)
def test_no_user_value_reaches_sql_text(
    flavor: str, instance_uris: dict[str, str], metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = define(flavor, instance_uris)
    safe = mrsm.Pipe("safe", metric, instance=instance, columns={"datetime": "dt", "id": "name"})
    safe.sync(pd.DataFrame({"dt": [T0, T0], "name": [HOSTILE[0], "ok"], "value": [1.0, 2.0]}))
    before_columns, before_pipes = catalog(instance)
    connector: Any = get_connector(instance)
    engines = [connector.db.engine] if hasattr(connector.db, "engine") else []
    with capture(monkeypatch, engines) as log:
        assert safe.get_data(params={"name": HOSTILE[0]})["value"].tolist() == [1.0]
        refused = run_all(hostile_reads(safe, "name"))
    assert log.leaks(MARKER) == [], "a user value reached SQL text"
    assert log.bound(MARKER) > 0, "the hook saw no hostile value at all: it proves nothing"
    assert refused > 0
    assert catalog(instance) == (before_columns, before_pipes)
    assert safe.get_data()["name"].tolist() == ["ok"]  # clear(params=...) removed its match only


def hostile_names_pipe(instance: str, value: str) -> tuple[mrsm.Pipe, list[str]]:
    """A pipe whose keys are hostile (made shorter than any flavor's identifier limit)."""
    key = value[:8].strip() + MARKER
    pipe = mrsm.Pipe(key, key, key, instance=instance, columns={"datetime": "dt", "id": value})
    return pipe, [value, f'v" TEXT, "{MARKER}']


@pytest.mark.parametrize("flavor", FLAVORS)
def test_hostile_keys_and_column_names_stay_identifiers(
    flavor: str, instance_uris: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = define(flavor, instance_uris)
    connector: Any = get_connector(instance)
    engines = [connector.db.engine] if hasattr(connector.db, "engine") else []
    flavor_: Any = connector.flavor
    for value in HOSTILE:
        mrsm.Pipe("setup", "m", instance=instance).register()
        before_columns, before_pipes = catalog(instance)
        pipe, names = hostile_names_pipe(instance, value)
        pipe.delete()
        with capture(monkeypatch, engines) as log:
            frame = pd.DataFrame({"dt": [T0], names[0]: ["k"], names[1]: [value]})
            pipe.sync(frame)
            pipe.sync(frame.assign(**{names[1]: ["changed"]}))
            got = pipe.get_data(params={names[0]: "k"})
        assert got[names[1]].tolist() == ["changed"]
        assert log.leaks(MARKER, flavor_.quote("x")[0]) == [], "a hostile name reached SQL unquoted"
        columns, pipes = catalog(instance)
        assert columns - before_columns == {(pipe.target, c) for c in ["dt", *names]}
        assert before_columns <= columns and pipes[: len(before_pipes)] == before_pipes
        assert pipes[len(before_pipes)][1:4] == (pipe.connector_keys, pipe.metric_key, pipe.location_key)
        pipe.delete()
        assert catalog(instance) == (before_columns, before_pipes)


def test_magics_pass_hostile_values_as_values(
    instance_uris: dict[str, str], metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = define("duckdb", instance_uris)
    pipe = mrsm.Pipe("safe", metric, instance=instance, columns={"datetime": "dt", "id": "name"})
    pipe.sync(pd.DataFrame({"dt": [T0], "name": ["ok"], "value": [1.0]}))
    before = catalog(instance)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mrsm_jupyter")
    shell.run_line_magic("config", f"MrsmMagics.instance = {instance!r}")
    shell.run_line_magic("config", "MrsmMagics.progress = False")
    lines = []
    for value in HOSTILE:
        params = json.dumps({"name": value})
        quoted = "'" + params.replace("'", "'\"'\"'") + "'"
        lines += [f"show data -m {metric} --params {quoted}", f"show rowcount -m {metric} --params {quoted}"]
        lines += [f"clear pipes -m {metric} -y --params {quoted}", f"show pipes -c {quoted}"]
        lines += [f"show data -m {metric} --begin {quoted}"]
    try:
        with capture(monkeypatch) as log:
            for line in lines:
                shell.run_line_magic("mrsm", line)
    finally:
        shell.run_line_magic("unload_ext", "mrsm_jupyter")
    assert log.leaks(MARKER) == []
    assert log.bound(MARKER) > 0
    assert catalog(instance) == before
    assert pipe.get_rowcount() == 1


def test_the_statement_hook_catches_a_pasted_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook is not blind: a value pasted into SQL by hand is reported."""
    connector: Any = get_connector("sql:memory")
    with capture(monkeypatch) as log, connector.db.session() as s:
        s.fetchall(f"SELECT '{MARKER}' AS x")
        s.fetchall("SELECT $v AS x", {"v": MARKER})
    assert len(log.leaks(MARKER)) == 1 and log.bound(MARKER) == 1
    assert isinstance(log, StatementLog)
