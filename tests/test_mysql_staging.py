"""MariaDB's bulk paths: batches staged through LOAD DATA LOCAL INFILE (executemany below
``LOAD_DATA_MIN_ROWS``) and reads typed from the server's text by Arrow, both exact for
hostile values, and no temporary file left behind."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pymysql
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.sql.flavors import mysql as mysql_flavor
from mrsm_jupyter.connectors.sql.flavors.mysql import LOAD_DATA_MIN_ROWS, MySQLFlavor
from mrsm_jupyter.errors import SyncError

HUGE = '"\\,\n\t' * 800_000 + "end"  # 4 MB of characters that need care in a CSV
TEXT = [
    "plain",
    "",
    None,
    "NULL",
    "\\N",
    "N",
    'say "hi"',
    '"',
    '""',
    "'single'",
    "back\\slash",
    "trailing\\",
    "\\",
    "a,b",
    "line\nbreak",
    "crlf\r\n",
    "\n",
    "tab\there",
    "nul\x00byte",
    "é 😀 中文 \u2028",
    " leading and trailing ",
    "50% off %s %(x)s",
]
RAW = [bytes(range(256)), b"", None, b"\x00", b'"', b"\\N", b"\n\r\t,", bytes(range(255, -1, -1))]
WHEN = [
    datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1901, 12, 13, 20, 45, 52, 1, tzinfo=UTC),
    datetime(1000, 1, 1, tzinfo=UTC),
    datetime(2038, 1, 19, 3, 14, 8, 500000, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]
DOCS = [{"q": "\"'\\\n\t\\N,", "u": "é😀"}, None, {}, [1, "NULL", None], {"nested": {"a": [True, 1.5]}}]
AMOUNTS = [Decimal("0.0000000001"), Decimal("-1234567890123456789012345678.1234567890"), Decimal(0), None]
RATIOS = [0.1, 1 / 3, -0.0, 5e-324, -1e-320, 1.7976931348623157e308, -1e-300, None, 123456789.125]
FLAGS = [True, False, None]
DAYS = [date(1000, 1, 1), date(1969, 12, 31), date(9999, 12, 31), None]
COUNTS = [2**63 - 1, -(2**63), 0, None]


@pytest.fixture
def mariadb(instance_uris: dict[str, str]) -> str:
    os.environ["MRSM_SQL_MYSQLSTAGING"] = instance_uris["mariadb"]
    return "sql:mysqlstaging"


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory of its own, so that leftovers can be seen."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(root))
    return root


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Row counts of the batches staged through LOAD DATA."""
    counts: list[int] = []
    load_data = MySQLFlavor._load_data

    def spy(self: MySQLFlavor, dbapi_connection: Any, stage: str, batch: Any) -> None:
        counts.append(batch.num_rows)
        load_data(self, dbapi_connection, stage, batch)

    monkeypatch.setattr(MySQLFlavor, "_load_data", spy)
    return counts


def hostile_frame(rows: int) -> pd.DataFrame:
    def cycle(values: list[Any]) -> list[Any]:
        return [values[i % len(values)] for i in range(rows)]

    text = cycle(TEXT)
    text[1] = HUGE
    return pd.DataFrame(
        {
            "dt": cycle(WHEN),
            "id": range(rows),
            "text": text,
            "raw": cycle(RAW),
            "doc": cycle(DOCS),
            "amount": cycle(AMOUNTS),
            "ratio": pd.array(cycle(RATIOS), dtype="Float64"),
            "flag": pd.array(cycle(FLAGS), dtype="boolean"),
            "day": cycle(DAYS),
            "naive": [None if w is None else w.replace(tzinfo=None) for w in cycle(WHEN)],
            "count": pd.array(cycle(COUNTS), dtype="Int64"),
            'odd "name" `here`': cycle(TEXT),
        }
    )


def hostile_pipe(instance: str, metric: str) -> mrsm.Pipe:
    return mrsm.Pipe(
        "test",
        metric,
        instance=instance,
        columns={"datetime": "dt", "id": "id"},
        dtypes={"raw": "bytes", "doc": "json", "amount": "numeric", "day": "date", "naive": "datetime_naive"},
    )


def plain(value: Any) -> Any:
    """A value read back as the plain Python value it was written as."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return bytes(value) if isinstance(value, (bytearray, memoryview)) else value


def assert_same_rows(written: pd.DataFrame, read: pd.DataFrame) -> None:
    read = read.sort_values("id").reset_index(drop=True)
    assert list(read.columns) == list(written.columns)
    for name in written.columns:
        expected = [plain(v) for v in written[name]]
        actual = [plain(v) for v in read[name]]
        mismatches = [(i, e, a) for i, (e, a) in enumerate(zip(expected, actual, strict=True)) if e != a]
        assert not mismatches, f"{name}: {str(mismatches[:3])[:500]}"


@pytest.mark.parametrize("rows", [40, 400], ids=["executemany", "load_data"])
def test_hostile_values_round_trip(
    mariadb: str, metric: str, rows: int, loads: list[int], temp_root: Path
) -> None:
    assert (rows >= LOAD_DATA_MIN_ROWS) == (rows == 400)
    df = hostile_frame(rows)
    pipe = hostile_pipe(mariadb, metric)
    assert pipe.sync(df).inserted == rows
    assert loads == ([rows] if rows >= LOAD_DATA_MIN_ROWS else [])
    assert_same_rows(df, pipe.get_data())
    # Every value compares equal to what the database holds: nothing changed in transit.
    assert pipe.sync(df).unchanged == rows
    assert list(temp_root.iterdir()) == []


def test_load_data_sql() -> None:
    """Bytes arrive as hex through a variable; names are quoted, ``%`` doubled for the driver."""
    sql = MySQLFlavor().load_data_sql(
        "`mrsm_stage_1`", ["dt", "raw", "50%", 'odd"`name'], [False, True, False, True]
    )
    assert sql == (
        "LOAD DATA LOCAL INFILE %s INTO TABLE `mrsm_stage_1` CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\n' "
        '(`dt`, @mrsm_1, `50%%`, @mrsm_3) SET `raw` = UNHEX(@mrsm_1), `odd"``name` = UNHEX(@mrsm_3)'
    )


def test_reads_bind_filter_values(mariadb: str, metric: str) -> None:
    df = hostile_frame(60)
    pipe = hostile_pipe(mariadb, metric)
    pipe.sync(df)
    for value in ["50% off %s %(x)s", 'say "hi"', "back\\slash", "é 😀 中文 \u2028"]:
        read = pipe.get_data(params={"text": value})
        assert len(read) == sum(v == value for v in df["text"]) > 0
    begin, end = WHEN[4], WHEN[0]  # [1000-01-01, 1969-07-20 20:17:40.123456)
    read = pipe.get_data(begin=begin, end=end)
    assert sorted({plain(v) for v in read["dt"]}) == [WHEN[4], WHEN[3]]


def test_reads_take_the_text_path(mariadb: str, metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[bool] = []
    fetch = MySQLFlavor.fetch_arrow_fast

    def spy(self: MySQLFlavor, *args: Any) -> Any:
        table = fetch(self, *args)
        answers.append(table is not None)
        return table

    monkeypatch.setattr(MySQLFlavor, "fetch_arrow_fast", spy)
    pipe = hostile_pipe(mariadb, metric)
    pipe.sync(hostile_frame(60))
    assert len(pipe.get_data()) == 60
    assert pipe.get_sync_time() == WHEN[6]
    assert answers and all(answers)


def test_temp_file_is_private_while_loading(
    mariadb: str, metric: str, temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []
    check: Callable[[Any, Any], None] = mysql_flavor._raise_on_warnings

    def spy(dbapi_connection: Any, cursor: Any) -> None:
        (folder,) = temp_root.iterdir()
        (file,) = folder.iterdir()
        seen.append((stat.S_IMODE(folder.stat().st_mode), stat.S_IMODE(file.stat().st_mode)))
        check(dbapi_connection, cursor)

    monkeypatch.setattr(mysql_flavor, "_raise_on_warnings", spy)
    hostile_pipe(mariadb, metric).sync(hostile_frame(100))
    assert seen == [(0o700, 0o600)]
    assert list(temp_root.iterdir()) == []


def test_values_the_server_would_change_are_refused(
    mariadb: str, metric: str, loads: list[int], temp_root: Path
) -> None:
    """LOAD DATA LOCAL only warns about bad values; those warnings refuse the batch."""
    pipe = mrsm.Pipe("test", metric, instance=mariadb, columns={"datetime": "dt", "name": "name"})
    first = pd.DataFrame({"dt": WHEN[:1] * 60, "name": [f"n{i}" for i in range(60)], "v": range(60)})
    pipe.sync(first)
    too_long = first.assign(name=["x" * 300 + str(i) for i in range(60)])  # key columns are VARCHAR(255)
    with pytest.raises(SyncError, match="LOAD DATA changed values"):
        pipe.sync(too_long)
    assert loads == [60, 60]
    assert pipe.get_rowcount() == 60
    assert list(temp_root.iterdir()) == []


def test_server_refusing_local_files_falls_back_to_insert(
    instance_uris: dict[str, str],
    metric: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    os.environ["MRSM_SQL_MYSQLREFUSED"] = instance_uris["mariadb"]  # its own flavor state
    calls: list[int] = []

    def refuse(self: MySQLFlavor, dbapi_connection: Any, stage: str, batch: Any) -> None:
        calls.append(batch.num_rows)
        raise pymysql.err.OperationalError(1148, "The used command is not allowed with this MariaDB version")

    monkeypatch.setattr(MySQLFlavor, "_load_data", refuse)
    pipe = hostile_pipe("sql:mysqlrefused", metric)
    df = hostile_frame(100)
    with caplog.at_level(logging.WARNING):
        assert pipe.sync(df).inserted == 100
        assert pipe.sync(df.assign(id=df["id"] + 100)).inserted == 100
    assert calls == [100]  # asked once, then straight to INSERT
    assert "local_infile" in caplog.text
    assert_same_rows(pd.concat([df, df.assign(id=df["id"] + 100)]), pipe.get_data())
