"""PostgreSQL's binary COPY, encoded from and decoded to Arrow with numpy, against the real server.

Batches go in through the flavor's ``stage_rows`` and come back through ``fetch_arrow_fast``,
exactly as the engine uses them; the encoder and the decoder are also each checked against
psycopg's own row path, so that a mistake made symmetrically in both cannot hide.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrsm_jupyter.connectors.sql import pgcopy
from mrsm_jupyter.connectors.sql.flavors.postgresql import PostgreSQLFlavor, copy_out
from mrsm_jupyter.pipes.dtypes import arrow_type

pytestmark = pytest.mark.server

ADMIN = os.environ.get("MRSM_TEST_POSTGRESQL", "postgresql://postgres@localhost:5432/postgres")
FLAVOR = PostgreSQLFlavor()
BIG = "é✓" * 1_500_000  # 7.5 MB of UTF-8 in one value
MAX_NUMERIC = Decimal("9999999999999999999999999999.9999999999")
# A literal: negating in the default context (28 digits) would round.
MIN_NUMERIC = Decimal("-9999999999999999999999999999.9999999999")

EXAMPLES: dict[str, list[Any]] = {
    "int": [0, None, -(2**63), 2**63 - 1, 42],
    "float": [1.5, None, float("inf"), float("-inf"), -0.0],
    "bool": [True, None, False, True, False],
    "datetime": [
        datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        None,
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
    "datetime_naive": [
        datetime(1969, 7, 20, 20, 17),
        None,
        datetime(1900, 1, 1),
        datetime(2100, 2, 28),
        None,
    ],
    "date": [date(1999, 12, 31), None, date(1, 1, 1), date(2000, 1, 1), date(9999, 12, 31)],
    "str": ["", None, "quote ' \" ; \\ \n\t", "日本語 ✓ 🎉", BIG],
    "json": ['{"a": 1, "b": [1, 2]}', None, '"é"', "[]", '{"nested": {"k": null}}'],
    "uuid": [str(uuid.UUID(int=0)), None, str(uuid.UUID(int=2**128 - 1)), str(uuid.uuid4()), None],
    "bytes": [b"", None, b"\x00\x01\xff", bytes(range(256)) * 10, b"\\x00"],
    "numeric": [Decimal("1.1000000001"), None, MIN_NUMERIC, Decimal("0"), Decimal("-0.0000000001")],
}


@pytest.fixture(scope="module")
def pg() -> Iterator[psycopg.Connection[Any]]:
    """A connection to a scratch database of this worker; each test rolls back."""
    run, worker = os.environ.get("MRSM_TEST_RUN", ""), os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"mrsm_pgcopy_{run}{worker}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"{ADMIN.rsplit('/', 1)[0]}/{name}") as con:
        yield con


@pytest.fixture
def con(pg: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    yield pg
    pg.rollback()


def table_of(columns: Mapping[str, list[Any]], dtypes: Mapping[str, str]) -> pa.Table:
    return pa.table(
        {name: pa.array(values, type=arrow_type(dtypes[name])) for name, values in columns.items()}
    )


def stage(con: psycopg.Connection[Any], table: pa.Table, dtypes: Mapping[str, str]) -> str:
    """A temporary table of the batch's dtypes, filled by the flavor's binary COPY."""
    name = FLAVOR.quote(f"stage_{uuid.uuid4().hex[:8]}")
    con.execute(FLAVOR.create_stage(name, {c: dtypes[c] for c in table.column_names}, []), {})
    FLAVOR.stage_rows(con, name, table)
    return name


def read(con: psycopg.Connection[Any], sql: str, dtypes: Mapping[str, str], **params: Any) -> pa.Table:
    table = FLAVOR.fetch_arrow_fast(con, sql, params, dtypes)
    assert table is not None, "the fast path declined the read"
    return table


def round_trip(con: psycopg.Connection[Any], table: pa.Table, dtypes: Mapping[str, str]) -> pa.Table:
    return read(con, f"SELECT * FROM {stage(con, table, dtypes)}", dtypes)


def assert_same(actual: pa.Table, expected: pa.Table, dtypes: Mapping[str, str]) -> None:
    """Equal column by column; JSON by meaning (jsonb keeps its own key order and spacing)."""
    assert actual.schema == expected.schema
    for name in expected.column_names:
        got, want = actual.column(name).to_pylist(), expected.column(name).to_pylist()
        if dtypes[name] == "json":
            got = [None if v is None else json.loads(v) for v in got]
            want = [None if v is None else json.loads(v) for v in want]
        assert got == want, name


@pytest.mark.parametrize("dtype", list(EXAMPLES))
def test_each_dtype_round_trips_with_nulls(con: psycopg.Connection[Any], dtype: str) -> None:
    dtypes = {"v": dtype}
    table = table_of({"v": EXAMPLES[dtype]}, dtypes)
    assert_same(round_trip(con, table, dtypes), table, dtypes)


def test_every_dtype_together_round_trips_exactly(con: psycopg.Connection[Any]) -> None:
    dtypes = {name: name for name in EXAMPLES}
    table = table_of(EXAMPLES, dtypes)
    assert_same(round_trip(con, table, dtypes), table, dtypes)


@pytest.mark.parametrize("rows", [0, 1])
def test_empty_and_all_null_tables_round_trip(con: psycopg.Connection[Any], rows: int) -> None:
    dtypes = {name: name for name in EXAMPLES}
    table = table_of({name: [None] * rows for name in EXAMPLES}, dtypes)
    assert round_trip(con, table, dtypes).equals(table)


def test_many_rows_without_nulls_take_the_fixed_layout_and_round_trip(con: psycopg.Connection[Any]) -> None:
    n = 250_000  # several chunks
    start = datetime(1990, 1, 1, tzinfo=UTC)
    dtypes = {"dt": "datetime", "id": "int", "value": "float", "ok": "bool", "day": "date"}
    table = pa.table(
        {
            "dt": pa.array([start + timedelta(minutes=i) for i in range(n)], arrow_type("datetime")),
            "id": pa.array(range(n), pa.int64()),
            "value": pa.array([i / 7 for i in range(n)], pa.float64()),
            "ok": pa.array([i % 3 == 0 for i in range(n)]),
            "day": pa.array([date(2000, 1, 1) + timedelta(days=i % 20_000) for i in range(n)]),
        }
    )
    assert round_trip(con, table, dtypes).equals(table)


def test_small_chunks_split_rows_and_bytes(
    con: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgcopy, "CHUNK_ROWS", 3)
    monkeypatch.setattr(pgcopy, "CHUNK_BYTES", 10)  # also the pieces a read is decoded in
    dtypes = {name: name for name in EXAMPLES}
    table = table_of({name: values * 3 for name, values in EXAMPLES.items()}, dtypes)
    assert_same(round_trip(con, table, dtypes), table, dtypes)


def test_the_encoder_agrees_with_psycopgs_rows(con: psycopg.Connection[Any]) -> None:
    dtypes = {name: name for name in EXAMPLES}
    name = stage(con, table_of(EXAMPLES, dtypes), dtypes)
    rows = con.execute(f"SELECT * FROM {name}").fetchall()
    for column, stored in zip(EXAMPLES, zip(*rows, strict=True), strict=True):
        expected = EXAMPLES[column]
        if column == "json":
            expected = [None if v is None else json.loads(v) for v in expected]
        if column == "uuid":
            expected = [None if v is None else uuid.UUID(v) for v in expected]
        assert list(stored) == expected, column


def test_the_decoder_agrees_with_psycopgs_rows(con: psycopg.Connection[Any]) -> None:
    sql = (
        "SELECT i::int8 AS n, i / 3.0::float8 AS f, mod(i, 2) = 0 AS b, "
        "timestamptz '1970-01-01 00:00:00+00' + i * interval '97 days 1 second' AS dt, "
        "timestamp '1850-03-04' + i * interval '400 days' AS naive, date '0001-01-01' + i * 9000 AS day, "
        "repeat('ü', i) AS s, jsonb_build_object('i', i) AS j, md5(i::text)::uuid AS u, "
        "decode(md5(i::text), 'hex') AS raw, (i * 123456.789)::numeric - 1e9 AS amount "
        "FROM generate_series(0, 300) AS i"
    )
    dtypes = dict(
        n="int", f="float", b="bool", dt="datetime", naive="datetime_naive", day="date", s="str",
        j="json", u="uuid", raw="bytes", amount="numeric",
    )  # fmt: skip
    table = read(con, sql, dtypes)
    rows = con.execute(sql).fetchall()
    for name, values in zip(table.column_names, zip(*rows, strict=True), strict=True):
        got = table.column(name).to_pylist()
        if name in ("j", "u"):
            got = [json.loads(v) if name == "j" else uuid.UUID(v) for v in got]
        assert got == list(values), name


def test_stored_types_are_read_as_the_pipes_dtypes(con: psycopg.Connection[Any]) -> None:
    sql = (
        "SELECT 7::int2 AS small, 7::int4 AS medium, 1.5::float4 AS single, 2::int8 AS flag, "
        "timestamp '2024-01-01 12:00' AS naive, timestamptz '2024-01-01 12:00+02' AS aware, "
        "'x'::varchar AS name, '{\"a\": 1}'::json AS doc"
    )
    dtypes = dict(
        small="int", medium="float", single="float", flag="bool", naive="datetime", aware="datetime_naive",
        name="str", doc="json",
    )  # fmt: skip
    row = read(con, sql, dtypes).to_pylist()[0]
    assert row == {
        "small": 7,
        "medium": 7.0,
        "single": 1.5,
        "flag": True,
        "naive": datetime(2024, 1, 1, 12, tzinfo=UTC),
        "aware": datetime(2024, 1, 1, 10),
        "name": "x",
        "doc": '{"a": 1}',
    }


@pytest.mark.parametrize(
    ("sql", "dtypes"),
    [
        ("SELECT interval '1 day' AS v", {"v": "str"}),  # no decoder: the row reader handles it
        ("SELECT 1::int8 AS v", {}),  # no dtypes to type the columns with
        ("SELECT 1::int8 AS v, 2::int8 AS w", {"v": "int"}),  # a column without a dtype
        ("SELECT 'a'::text AS v", {"v": "int"}),  # no conversion from text to int here
        ("WITH x AS (SELECT 1 AS v) SELECT v FROM x", {"v": "int"}),  # only plain SELECTs
    ],
)
def test_reads_the_fast_path_cannot_make_are_declined(
    con: psycopg.Connection[Any], sql: str, dtypes: dict[str, str]
) -> None:
    assert FLAVOR.fetch_arrow_fast(con, sql, {}, dtypes) is None


def test_parameters_are_quoted_by_psycopg(con: psycopg.Connection[Any]) -> None:
    dtypes = {"s": "str"}
    name = stage(con, table_of({"s": ["O'Reilly'); DROP TABLE x; --", "100%", "other"]}, dtypes), dtypes)
    sql = f"SELECT s FROM {name} WHERE s IN (%(a)s, %(b)s) AND '%%' = '%%' ORDER BY s"
    table = read(con, sql, dtypes, a="O'Reilly'); DROP TABLE x; --", b="100%")
    assert table.column("s").to_pylist() == ["100%", "O'Reilly'); DROP TABLE x; --"]


def test_percent_signs_and_colons_in_names(con: psycopg.Connection[Any]) -> None:
    dtypes = {"d%t": "datetime", ":v": "float", "%s 100%": "str"}
    table = table_of({"d%t": [datetime(2024, 1, 1, tzinfo=UTC)], ":v": [1.5], "%s 100%": ["%(x)s"]}, dtypes)
    name = stage(con, table, dtypes)
    where = f"WHERE {FLAVOR.quote(':v')} = %(v)s AND {FLAVOR.quote('%s 100%')} = %(s)s"
    assert read(con, f"SELECT * FROM {name} {where}", dtypes, v=1.5, s="%(x)s").equals(table)


def test_an_error_in_the_middle_of_a_stream_is_the_servers(con: psycopg.Connection[Any]) -> None:
    sql = "SELECT 1 / (i - 5000) AS v FROM generate_series(1, 10000) AS i"
    with pytest.raises(psycopg.errors.DivisionByZero):
        FLAVOR.fetch_arrow_fast(con, sql, {}, {"v": "int"})
    con.rollback()
    assert con.execute("SELECT 42").fetchone() == (42,)


@pytest.mark.parametrize(
    ("sql", "dtype", "message"),
    [
        ("SELECT 'NaN'::numeric AS v", "numeric", "NaN"),
        ("SELECT 1e30::numeric AS v", "numeric", "28 digits"),
        ("SELECT 0.00000000001::numeric AS v", "numeric", "10 decimal places"),
        ("SELECT 'infinity'::timestamptz AS v", "datetime", "infinite"),
        ("SELECT '-infinity'::timestamp AS v", "datetime_naive", "infinite"),
        ("SELECT '-infinity'::date AS v", "date", "infinite"),
        ("SELECT 'infinity'::date AS v", "date", "infinite"),
    ],
)
def test_values_arrow_cannot_hold_are_refused(
    con: psycopg.Connection[Any], sql: str, dtype: str, message: str
) -> None:
    with pytest.raises(pgcopy.CopyFormatError, match=message):
        FLAVOR.fetch_arrow_fast(con, sql, {}, {"v": dtype})


def test_text_that_is_not_a_uuid_is_refused(con: psycopg.Connection[Any]) -> None:
    with pytest.raises(pgcopy.CopyFormatError, match="not a UUID"):
        stage(con, table_of({"u": ["not-a-uuid"]}, {"u": "uuid"}), {"u": "uuid"})


def test_uuids_in_other_spellings_are_accepted(con: psycopg.Connection[Any]) -> None:
    value = uuid.uuid4()
    spellings = [str(value).upper(), value.hex, f"{{{value}}}"]
    table = round_trip(con, table_of({"u": spellings}, {"u": "uuid"}), {"u": "uuid"})
    assert table.column("u").to_pylist() == [str(value)] * 3


def test_a_stream_is_header_tuples_trailer() -> None:
    chunks = list(pgcopy.encode_binary_copy(pa.table({"v": pa.array([1, None])}), ["int"]))
    assert chunks[0] == b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    assert chunks[-1] == b"\xff\xff"
    assert (
        b"".join(chunks[1:-1])
        == b"\x00\x01\x00\x00\x00\x08" + (1).to_bytes(8, "big") + b"\x00\x01\xff\xff\xff\xff"
    )


def test_copy_out_returns_one_size_per_tuple(con: psycopg.Connection[Any]) -> None:
    with con.cursor() as cursor:
        statement = "COPY (SELECT i FROM generate_series(1, %(n)s) AS i) TO STDOUT (FORMAT BINARY)"
        [(tuples, sizes)] = list(copy_out(cursor, statement, {"n": 3}))
    assert sizes == [10, 10, 10]
    assert pgcopy.decode_binary_copy(tuples, sizes, [("i", "int4")]).column("i").to_pylist() == [1, 2, 3]


# Property: any batch of any dtypes comes back as it went in.
def values_of(dtype: str) -> st.SearchStrategy[Any]:
    text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
    json_leaf = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | text
    return {
        "int": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats(allow_nan=False),
        "bool": st.booleans(),
        "datetime": st.datetimes(timezones=st.just(UTC)),
        "datetime_naive": st.datetimes(),
        "date": st.dates(),
        "str": text,
        "json": st.recursive(json_leaf, lambda inner: st.lists(inner) | st.dictionaries(text, inner)).map(
            json.dumps
        ),
        "uuid": st.uuids().map(str),
        "bytes": st.binary(max_size=20),
        "numeric": st.decimals(MIN_NUMERIC, MAX_NUMERIC, places=10, allow_nan=False),
    }[dtype]


@st.composite
def batches(draw: st.DrawFn) -> tuple[pa.Table, dict[str, str]]:
    chosen = draw(st.lists(st.sampled_from(list(EXAMPLES)), min_size=1, max_size=5))
    dtypes = {f"c{i}": dtype for i, dtype in enumerate(chosen)}
    n = draw(st.integers(0, 12))
    columns = {
        name: draw(st.lists(st.none() | values_of(dtype), min_size=n, max_size=n))
        for name, dtype in dtypes.items()
    }
    return table_of(columns, dtypes), dtypes


@settings(max_examples=40, deadline=None)
@given(batch=batches())
def test_any_batch_round_trips(pg: psycopg.Connection[Any], batch: tuple[pa.Table, dict[str, str]]) -> None:
    table, dtypes = batch
    try:
        assert_same(round_trip(pg, table, dtypes), table, dtypes)
    finally:
        pg.rollback()
