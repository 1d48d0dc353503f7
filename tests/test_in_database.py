"""Same-database sync: a SQL source pipe whose source is its instance's own database syncs
inside it (no rows through Python), with the same result as the path through Arrow; windows
the table cannot take as they are still go through Arrow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.sql import database
from mrsm_jupyter.connectors.sql.connector import SQLConnector

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SQL_FLAVORS = ["duckdb", "sqlite", "postgresql", "mariadb"]
COLUMNS = {"datetime": "dt", "id": "id"}


def readings(first: int, count: int, shift: int = 0) -> pd.DataFrame:
    steps = range(first, first + count)
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(minutes=i // 3) for i in steps],
            "id": [i % 3 for i in steps],
            "value": [i * 10 + shift for i in steps],
            "note": [f"r{i}" for i in steps],
        }
    )


class Traffic:
    """Counts what crosses into Python: fetch calls, and rows answered by any session."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fetches = 0
        self.rows = 0
        fetch = SQLConnector.fetch

        def counted_fetch(connector: SQLConnector, pipe: Any, window: Any) -> pa.Table:
            self.fetches += 1
            return fetch(connector, pipe, window)

        monkeypatch.setattr(SQLConnector, "fetch", counted_fetch)
        for session in (database.DuckDBSession, database.SQLAlchemySession):
            self._count(monkeypatch, session)

    def _count(self, monkeypatch: pytest.MonkeyPatch, session: type) -> None:
        fetch_arrow, fetchall = session.fetch_arrow, session.fetchall

        def counted_arrow(s: Any, sql: str, params: Any, dtypes: Any) -> pa.Table:
            table = fetch_arrow(s, sql, params, dtypes)
            self.rows += table.num_rows
            return table

        def counted_all(s: Any, sql: str, params: Any = None) -> list[Any]:
            rows = fetchall(s, sql, params)
            self.rows += len(rows)
            return rows  # type: ignore[no-any-return]

        monkeypatch.setattr(session, "fetch_arrow", counted_arrow)
        monkeypatch.setattr(session, "fetchall", counted_all)

    def reset(self) -> None:
        self.fetches = self.rows = 0


@pytest.fixture
def traffic(monkeypatch: pytest.MonkeyPatch) -> Iterator[Traffic]:
    yield Traffic(monkeypatch)


def source_pipes(instance: str, metric: str, definition: str | None = None) -> tuple[mrsm.Pipe, ...]:
    """The raw rows, a pipe synced from them inside the database, one synced through Arrow."""
    raw = mrsm.Pipe("test", metric, instance=instance, columns=COLUMNS, dtypes={"value": "int"})
    table = f"{{{{ Pipe('test', '{metric}', instance='{instance}') }}}}"
    fetch = {"definition": definition or f"SELECT * FROM {table}"}
    inside = mrsm.Pipe(
        instance, f"{metric}_in", instance=instance, columns=COLUMNS, parameters={"fetch": fetch}
    )
    arrow = mrsm.Pipe(
        instance, f"{metric}_ar", instance="sql:memory", columns=COLUMNS, parameters={"fetch": fetch}
    )
    return raw, inside, arrow


def assert_same_rows(inside: mrsm.Pipe, arrow: mrsm.Pipe) -> None:
    pd.testing.assert_frame_equal(inside.get_data(), arrow.get_data(), check_dtype=False)


@pytest.mark.parametrize("instance", SQL_FLAVORS, indirect=True)
def test_same_database_sync_moves_no_rows_and_equals_the_arrow_path(
    instance: str, metric: str, traffic: Traffic
) -> None:
    raw, inside, arrow = source_pipes(instance, metric)
    raw.sync(readings(0, 300))
    for pipe in (inside, arrow):  # the first sync creates the table: through Arrow
        assert pipe.sync(begin=T0).inserted == 300
    raw.sync(pd.concat([readings(100, 50, shift=1), readings(300, 120)]))  # 50 changed, 120 new
    traffic.reset()
    done = inside.sync(begin=T0)
    # Only the catalog (a row per column), the registration and counts came back.
    assert (traffic.fetches, traffic.rows <= 16) == (0, True), traffic.rows
    assert (done.inserted, done.updated, done.unchanged) == (120, 50, 250)
    assert arrow.sync(begin=T0).rows == done.rows
    assert_same_rows(inside, arrow)
    traffic.reset()
    again = inside.sync()  # the default window (backtrack from the newest sync time), nothing new
    assert (again.inserted, again.updated, traffic.fetches) == (0, 0, 0)
    assert_same_rows(inside, arrow)


@pytest.mark.parametrize("instance", ["duckdb", "postgresql"], indirect=True)
def test_a_key_repeated_in_the_window_goes_through_arrow(
    instance: str, metric: str, traffic: Traffic
) -> None:
    raw, inside, _ = source_pipes(instance, metric)
    raw.sync(readings(0, 9))
    inside.sync(begin=T0)
    table = f"{{{{ Pipe('test', '{metric}', instance='{instance}') }}}}"
    changed = f"SELECT dt, id, value + 1 AS value, note FROM {table}"
    inside.parameters["fetch"]["definition"] = f"SELECT * FROM {table} UNION ALL {changed}"
    traffic.reset()
    assert inside.sync(begin=T0).updated == 9 and traffic.fetches == 1
    assert inside.get_rowcount() == 9


@pytest.mark.parametrize("instance", ["duckdb"], indirect=True)
def test_a_fraction_for_an_integer_column_goes_through_arrow(
    instance: str, metric: str, traffic: Traffic
) -> None:
    """(Through Arrow the column widens; DuckDB answers the source's own types, where drivers
    that answer text are read with the pipe's recorded dtypes.)"""
    raw, inside, _ = source_pipes(instance, metric)
    raw.sync(readings(0, 9))
    inside.sync(begin=T0)
    table = f"{{{{ Pipe('test', '{metric}', instance='{instance}') }}}}"
    inside.parameters["fetch"]["definition"] = f"SELECT dt, id, value + 0.5 AS value, note FROM {table}"
    traffic.reset()
    widened = inside.sync(begin=T0)
    assert traffic.fetches == 1 and widened.updated == 9 and widened.columns_widened == ["value"]
    assert inside.get_data()["value"].tolist()[:2] == [0.5, 10.5]
