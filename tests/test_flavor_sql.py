"""Golden SQL per flavor: the statements each flavor renders for one reference pipe, reviewed
as files under tests/golden/. Flavors without a server here (MSSQL, CockroachDB) are also
parsed with sqlglot in their dialect. Rewrite the files with ``pytest --update-golden``."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from mrsm_jupyter.connectors.sql.flavors import FLAVORS, Flavor, flavor_for_uri
from mrsm_jupyter.connectors.sql.flavors.base import Query
from mrsm_jupyter.errors import ConnectorError

GOLDEN = Path(__file__).parent / "golden"
FLAVOR_NAMES = sorted({cls.name for cls in FLAVORS.values()})
SQLGLOT_DIALECTS = {
    "mssql": "tsql",
    "cockroachdb": "postgres",
    "postgresql": "postgres",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "mysql": "mysql",
}
COLUMNS = {"dt": "datetime", "station id": "str", "value": "float", 'odd"name': "int"}
KEYS = ["dt", "station id"]


def render(flavor: Flavor) -> list[tuple[str, str]]:
    """Every statement kind, for a pipe with a space and a quote in its column names."""
    table, stage = flavor.table("demo_temperature"), flavor.temporary_name("mrsm_stage_1")
    where, bound = flavor.where(
        "dt", "BEGIN", "END", {"station id": ["a", "_b", None], "value": "_None"}, COLUMNS
    )
    lock = flavor.lock_pipe(42)
    statements: list[tuple[str, str | Query | None]] = [
        ("create_table", "; ".join(flavor.create_table(table, COLUMNS, KEYS))),
        ("create_index", flavor.create_key_index(table, "demo_temperature", KEYS, unique=False)),
        ("create_unique_index", flavor.create_key_index(table, "demo_temperature", KEYS, unique=True)),
        ("add_column", "; ".join(flavor.add_column(table, "extra", "json"))),
        (
            "widen_column",
            "; ".join(flavor.widen_column(table, "demo_temperature", "value", "str", COLUMNS, KEYS)),
        ),
        ("create_stage", flavor.create_stage(stage, COLUMNS, KEYS)),
        (
            "update_changed",
            flavor.update_changed(table, stage, KEYS, ["value", 'odd"name'], [], upsert=False),
        ),
        (
            "update_changed_null_ids",
            flavor.update_changed(table, stage, KEYS, ["value"], ["station id"], upsert=False),
        ),
        ("update_upsert", flavor.update_changed(table, stage, KEYS, ["value"], [], upsert=True)),
        ("merge", flavor.merge(table, stage, KEYS, list(COLUMNS), ["station id"], upsert=False) or "-- none"),
        ("insert_new", flavor.insert_new(table, stage, KEYS, list(COLUMNS), ["station id"])),
        ("insert_all", flavor.insert_all(table, stage, list(COLUMNS))),
        (
            "select",
            flavor.select(table, ["dt", "value"], where, KEYS, False, 100) + f"  -- {sorted(bound.items())}",
        ),
        ("delete", flavor.delete(table, where)),
        (
            "deduplicate",
            "; ".join(flavor.deduplicate(table, flavor.temporary_name("mrsm_dedup"), KEYS, list(COLUMNS))),
        ),
        ("columns", flavor.columns_query("demo_temperature", None)[0]),
        ("pipes_table", "; ".join(flavor.create_pipes_table(flavor.quote("mrsm_pipes")))),
        ("register", flavor.insert_registration(flavor.quote("mrsm_pipes"))),
        ("lock", lock[0] if lock else "-- a lock file on this machine"),
    ]
    return [(name, sql if isinstance(sql, str) else "") for name, sql in statements]


def as_text(rendered: list[tuple[str, str]]) -> str:
    return "".join(f"-- {name}\n{sql};\n\n" for name, sql in rendered)


@pytest.mark.parametrize("name", FLAVOR_NAMES)
def test_golden_sql(name: str, request: pytest.FixtureRequest) -> None:
    flavor = FLAVORS[name]()
    text = as_text(render(flavor))
    path = GOLDEN / f"{name}.sql"
    if request.config.getoption("--update-golden") or not path.exists():
        path.write_text(text)
    assert text == path.read_text(), f"SQL of {name} changed; review and run pytest --update-golden"


@pytest.mark.parametrize("name", ["mssql", "cockroachdb"])
def test_serverless_flavors_parse_in_their_dialect(name: str) -> None:
    flavor = FLAVORS[name]()
    skipped = {"lock", "pipes_table", "create_index", "create_unique_index"}  # T-SQL EXEC / IF guards
    parsed = 0
    for kind, sql in render(flavor):
        if kind in skipped or not sql or sql.startswith("--"):
            continue
        for statement in sql.split("  -- ")[0].split("; "):
            assert sqlglot.parse_one(statement.replace(":", "__p_"), read=SQLGLOT_DIALECTS[name]) is not None
            parsed += 1
    assert parsed >= 12  # every statement kind but the skipped ones was parsed


def test_identifiers_are_quoted_never_pasted() -> None:
    for cls in set(FLAVORS.values()):
        flavor = cls()
        quoted = flavor.quote('a"b`c]d')
        assert quoted.count("a") == 1 and quoted not in ('a"b`c]d',)
        assert flavor.quote("x; DROP TABLE t") != "x; DROP TABLE t"


def test_unknown_flavor_suggests_the_closest() -> None:
    with pytest.raises(ConnectorError, match="Did you mean 'postgresql'"):
        flavor_for_uri("postgresq://localhost/db")
