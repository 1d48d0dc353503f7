"""The raw limit on PostgreSQL: psycopg 3 and binary ``COPY`` streams built with numpy.

Load: ``CREATE TABLE`` + binary ``COPY`` (stream from :mod:`pg_binary_copy`), then the primary
key. Upsert and re-sync: ``COPY`` into a temp table, then ``INSERT ... ON CONFLICT DO UPDATE
... WHERE (cols) IS DISTINCT FROM (EXCLUDED cols)``. Reads: binary ``COPY TO`` decoded by numpy;
ADBC and ConnectorX are also timed when installed, and the fastest counts.
"""

from __future__ import annotations

from datetime import datetime
from importlib.util import find_spec
from typing import Any

import pandas as pd
import psycopg
from psycopg import pq, sql

from bench.contenders.base import ReadVariant, Target
from bench.contenders.pg_binary_copy import HEADER, TRAILER, decode_stream, encode_tuples
from bench.workload import ALL_COLUMNS, DATETIME_COLUMN, ID_COLUMN, VALUE_COLUMNS

TABLE = "raw_sensors"
STAGED = "staged_batch"
SCHEMA = {
    DATETIME_COLUMN: "timestamp",
    ID_COLUMN: "bigint",
    **{name: "double precision" for name in VALUE_COLUMNS},
}
COPY_CHUNK_BYTES = 1 << 20


def create_table_statement(table: str, temporary: bool = False) -> str:
    columns = ", ".join(f"{name} {sql_type} NOT NULL" for name, sql_type in SCHEMA.items())
    kind = "TEMP TABLE" if temporary else "TABLE"
    suffix = " ON COMMIT DROP" if temporary else ""
    return f"CREATE {kind} {table} ({columns}){suffix}"


def upsert_statement() -> str:
    """``INSERT ... ON CONFLICT`` that touches only rows whose values differ."""
    names = ", ".join(ALL_COLUMNS)
    current = ", ".join(f"t.{name}" for name in VALUE_COLUMNS)
    excluded = ", ".join(f"EXCLUDED.{name}" for name in VALUE_COLUMNS)
    assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in VALUE_COLUMNS)
    return (
        f"INSERT INTO {TABLE} AS t ({names}) SELECT {names} FROM {STAGED} "
        f"ON CONFLICT ({DATETIME_COLUMN}, {ID_COLUMN}) DO UPDATE SET {assignments} "
        f"WHERE ({current}) IS DISTINCT FROM ({excluded})"
    )


def copy_frame(cursor: psycopg.Cursor[tuple[object, ...]], table: str, frame: pd.DataFrame) -> None:
    tuples = encode_tuples(frame, SCHEMA).data.cast("B")
    statement = f"COPY {table} ({', '.join(SCHEMA)}) FROM STDIN (FORMAT BINARY)"
    with cursor.copy(statement) as copy:
        copy.write(HEADER)
        for offset in range(0, len(tuples), COPY_CHUNK_BYTES):
            copy.write(tuples[offset : offset + COPY_CHUNK_BYTES])
        copy.write(TRAILER)


def copy_query(connection: psycopg.Connection[tuple[object, ...]], query: sql.Composable) -> pd.DataFrame:
    """Run ``COPY (query) TO STDOUT`` on the libpq level and decode it with numpy.

    psycopg's ``Copy`` iterator costs about 1 µs of Python per row; calling libpq's
    ``get_copy_data`` directly halves the time. Needs an idle autocommit connection.
    """
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
    pgconn = connection.pgconn
    started = pgconn.exec_(statement.as_bytes(connection))
    if started.status != pq.ExecStatus.COPY_OUT:
        raise psycopg.OperationalError(pgconn.get_error_message() or "COPY TO did not start")
    parts: list[memoryview] = []
    size, data = pgconn.get_copy_data(0)
    while size > 0:
        parts.append(data)
        size, data = pgconn.get_copy_data(0)
    failed = size == -2
    while (result := pgconn.get_result()) is not None:
        failed = failed or result.status == pq.ExecStatus.FATAL_ERROR
    if failed:
        raise psycopg.OperationalError(pgconn.get_error_message() or "COPY TO failed")
    return decode_stream(b"".join(parts), SCHEMA)


class RawPostgreSQL:
    """Hand-written psycopg 3: the fastest code we know for each operation."""

    def __init__(self) -> None:
        self.connection: psycopg.Connection[tuple[object, ...]] | None = None
        self.adbc_connection: Any = None
        self.url = ""

    @property
    def con(self) -> psycopg.Connection[tuple[object, ...]]:
        assert self.connection is not None, "setup() was not called"
        return self.connection

    def setup(self, target: Target) -> None:
        self.url = target.pg_url()
        self.connection = psycopg.connect(self.url, autocommit=True)
        if find_spec("adbc_driver_postgresql") is not None:
            import adbc_driver_postgresql.dbapi as adbc  # type: ignore[import-untyped]  # noqa: PLC0415

            self.adbc_connection = adbc.connect(self.url, autocommit=True)

    def load(self, frame: pd.DataFrame) -> str | None:
        with self.con.transaction(), self.con.cursor() as cursor:
            cursor.execute(create_table_statement(TABLE))
            copy_frame(cursor, TABLE, frame)
            cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY ({DATETIME_COLUMN}, {ID_COLUMN})")
        return f"copied {len(frame):,}"

    def upsert(self, frame: pd.DataFrame) -> str | None:
        with self.con.transaction(), self.con.cursor() as cursor:
            cursor.execute(create_table_statement(STAGED, temporary=True))
            copy_frame(cursor, STAGED, frame)
            cursor.execute(upsert_statement())
            return f"written {cursor.rowcount:,}"

    def resync(self, frame: pd.DataFrame) -> str | None:
        return self.upsert(frame)

    def read_all(self) -> pd.DataFrame:
        return copy_query(self.con, sql.SQL(f"SELECT * FROM {TABLE}"))

    def read_all_variants(self) -> dict[str, ReadVariant]:
        variants: dict[str, ReadVariant] = {"binary COPY→numpy": self.read_all}
        if self.adbc_connection is not None:
            variants["ADBC→Arrow→pandas"] = self.read_all_adbc
        if find_spec("connectorx") is not None:
            variants["ConnectorX→Arrow→pandas"] = self.read_all_connectorx
        return variants

    def read_all_adbc(self) -> pd.DataFrame:
        assert self.adbc_connection is not None
        with self.adbc_connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {TABLE}")
            frame: pd.DataFrame = cursor.fetch_arrow_table().to_pandas()
            return frame

    def read_all_connectorx(self) -> pd.DataFrame:
        import connectorx  # noqa: PLC0415 - optional reader

        table: Any = connectorx.read_sql(self.url, f"SELECT * FROM {TABLE}", return_type="arrow")
        frame: pd.DataFrame = table.to_pandas()
        return frame

    def read_window(self, begin: datetime, end: datetime, sensor_id: int) -> pd.DataFrame:
        # A plain binary-format fetch: for ~1,000 rows it beats COPY and ADBC, barely.
        query = (
            f"SELECT * FROM {TABLE} WHERE {ID_COLUMN} = %s "
            f"AND {DATETIME_COLUMN} >= %s AND {DATETIME_COLUMN} < %s"
        )
        with self.con.cursor(binary=True) as cursor:
            cursor.execute(query, (sensor_id, begin, end))
            rows = cursor.fetchall()
            return pd.DataFrame(rows, columns=list(ALL_COLUMNS))

    def teardown(self) -> None:
        with self.con.transaction():
            self.con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.con.close()
        self.connection = None
        if self.adbc_connection is not None:
            self.adbc_connection.close()
            self.adbc_connection = None


def describe_version() -> str:
    return f"psycopg {psycopg.__version__}"


def make_contender() -> RawPostgreSQL:
    return RawPostgreSQL()
