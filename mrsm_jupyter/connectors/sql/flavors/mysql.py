"""MySQL and MariaDB through SQLAlchemy and PyMySQL.

Batches are staged with ``LOAD DATA LOCAL INFILE`` from a CSV file that the server parses
back exactly (about 5x faster than a multi-row INSERT); tiny batches still use executemany.
Reads take the server's text as it comes and type it with Arrow (about 3x faster than
PyMySQL's conversions).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy.engine.interfaces import Dialect

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query
from mrsm_jupyter.pipes.dtypes import arrow_type

log = logging.getLogger(__name__)

# Below this many rows executemany is faster: LOAD DATA costs a file and a round trip more
# (measured on MariaDB 10.11: 0.7 vs 0.3 ms at 10 rows, 0.9 vs 1.6 ms at 100).
LOAD_DATA_MIN_ROWS = 50
# DB-API drivers whose connect() takes ``local_infile`` (SQLAlchemy's name: module name).
LOCAL_INFILE_DRIVERS = {"pymysql": "pymysql", "mysqldb": "MySQLdb"}
# Errors of a server that refuses LOAD DATA LOCAL (MariaDB, MySQL 8).
LOCAL_INFILE_REFUSED = (1148, 3948)
# Strings are always quoted and quotes doubled; NULL unquoted is NULL, "NULL" is text.
CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, delimiter=",", null_string="NULL")
HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class MySQLFlavor(Flavor):
    name: ClassVar[str] = "mysql"
    max_identifier_length: ClassVar[int] = 64
    folds_identifier_case: ClassVar[bool] = True
    transactional_ddl: ClassVar[bool] = False
    types: ClassVar[dict[str, str]] = {
        "int": "BIGINT",
        "float": "DOUBLE",
        "str": "LONGTEXT",
        "bool": "BOOLEAN",
        # DATETIME has no zone: values are stored as UTC.
        "datetime": "DATETIME(6)",
        "datetime_naive": "DATETIME(6)",
        "date": "DATE",
        "numeric": "DECIMAL(38,10)",
        "json": "LONGTEXT",
        "uuid": "CHAR(36)",
        "bytes": "LONGBLOB",
    }
    # TEXT columns cannot be indexed without a length.
    key_types: ClassVar[dict[str, str]] = {"str": "VARCHAR(255)", "json": "VARCHAR(255)"}

    def sqlalchemy_dialect(self) -> Dialect:
        from sqlalchemy.dialects import mysql  # noqa: PLC0415

        # pyformat, as PyMySQL: the preparer doubles % in names, which the driver undoes.
        dialect: Dialect = mysql.dialect(paramstyle="pyformat")
        return dialect

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        # LOAD DATA and the text reads use the DB-API connection, outside SQLAlchemy.
        errors: list[type[BaseException]] = []
        for module in LOCAL_INFILE_DRIVERS.values():
            with contextlib.suppress(ImportError):
                errors.append(importlib.import_module(module).Error)
        return tuple(errors)

    def dtype_of_sql_type(self, sql_type: str) -> str:
        t = sql_type.upper()
        if t in ("TINYINT", "TINYINT(1)", "BOOLEAN"):
            return "bool"
        if t in ("DATETIME", "TIMESTAMP") or t.startswith("DATETIME("):
            return "datetime"
        return super().dtype_of_sql_type(sql_type)

    def bind_value(self, value: Any, dtype: str | None) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def current_schema_sql(self) -> str:
        return "DATABASE()"

    def columns_query(self, table: str, schema: str | None) -> Query:
        sql, params = super().columns_query(table, schema)
        return sql.replace("data_type", "column_type", 1), params

    def not_distinct(self, a: str, b: str) -> str:
        return f"{a} <=> {b}"

    def distinct(self, a: str, b: str) -> str:
        return f"NOT ({a} <=> {b})"

    def update_changed(
        self,
        table: str,
        stage: str,
        keys: Sequence[str],
        values: Sequence[str],
        nullable: Sequence[str],
        upsert: bool,
    ) -> str:
        sets = ", ".join(f"t.{self.quote(v)} = s.{self.quote(v)}" for v in values)
        sql = (
            f"UPDATE {table} AS t JOIN {stage} AS s ON {self.key_match('t', 's', keys, nullable)} SET {sets}"
        )
        return sql if upsert else f"{sql} WHERE {self.changed('t', 's', values)}"

    def widen_column(
        self,
        table: str,
        table_name: str,
        column: str,
        dtype: str,
        columns: Mapping[str, str],
        keys: Sequence[str],
    ) -> list[str]:
        return [
            f"ALTER TABLE {table} MODIFY COLUMN {self.quote(column)} {self.sql_type(dtype, column in keys)}"
        ]

    def lock_pipe(self, key: int) -> Query | None:
        # A named lock held by the connection until RELEASE_LOCK (after COMMIT).
        return f"SELECT GET_LOCK({self.param('name')}, {self.param('timeout')})", {
            "name": f"mrsm_pipe_{key}",
            "timeout": 120,
        }

    def unlock_pipe(self, key: int) -> Query | None:
        return f"SELECT RELEASE_LOCK({self.param('name')})", {"name": f"mrsm_pipe_{key}"}

    pipes_id_column: ClassVar[str] = "pipe_id INTEGER AUTO_INCREMENT PRIMARY KEY"
    pipes_parameters_type: ClassVar[str] = "TEXT"

    def create_runs_table(self, table: str, table_name: str, columns: Mapping[str, str]) -> list[str]:
        # MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has): the index goes in the CREATE.
        create = super().create_runs_table(table, table_name, columns)[0]
        index = self.quote(f"{table_name}_started")
        return [create[:-1] + f", INDEX {index} ({self.quote('started')}))"]

    # Fingerprints. DATETIME holds UTC wall times; text may sit in a non-UTF-8 column.
    def fence(self, subquery: str) -> str:
        return f"{subquery} LIMIT 18446744073709551615"  # a derived table with LIMIT is not merged

    def int_div(self, a: str, b: str) -> str:
        return f"(({a}) DIV ({b}))"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS SIGNED)"

    def double(self, expr: str) -> str:
        return f"CAST({expr} AS DOUBLE)"

    def epoch_us(self, expr: str) -> str:
        return f"TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {expr})"

    def power_of_two(self, exponent: str) -> str:
        return f"(1 << ({exponent}))"

    def epoch_days(self, expr: str) -> str:
        return f"DATEDIFF({expr}, '1970-01-01')"

    def md5_int32(self, expr: str, binary: bool) -> str:
        data = expr if binary else f"CONVERT({expr} USING utf8mb4)"
        return self.bigint(f"CONV(SUBSTR(MD5({data}), 1, 8), 16, 10)")

    # Reading: the server's text, typed by Arrow.
    def fetch_arrow_fast(
        self, dbapi_connection: Any, sql: str, params: Mapping[str, Any], dtypes: Mapping[str, str]
    ) -> pa.Table | None:
        """Rows as the server sends them (text), typed by Arrow's casts in C++ instead of
        value by value in Python: about 3x faster. Values stay bound parameters.

        None (the caller reads again through SQLAlchemy) for other drivers, for a column
        without a dtype and for text Arrow cannot parse (e.g. MySQL's zero dates).
        """
        if _driver_module(dbapi_connection) != "pymysql":
            return None
        names, rows = _fetch_text(dbapi_connection, sql, params)
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        try:
            arrays = [_typed(list(values), dtypes[name]) for name, values in zip(names, columns, strict=True)]
        except (KeyError, pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
        return pa.table(arrays, names=names) if names else pa.table({})

    # Staging through LOAD DATA LOCAL INFILE.
    # Set once the server has refused local files: later batches go straight to INSERT.
    _local_infile_refused: bool = False

    def connect_args(self, driver: str) -> dict[str, Any]:
        # The client must announce LOAD DATA LOCAL when it connects, or the server refuses it.
        return {"local_infile": True} if driver in LOCAL_INFILE_DRIVERS else {}

    def stage_rows(self, dbapi_connection: Any, stage: str, batch: pa.Table) -> None:
        """Stage through LOAD DATA LOCAL INFILE; tiny batches, and servers or drivers
        without local files, through executemany."""
        if (
            batch.num_rows < LOAD_DATA_MIN_ROWS
            or self._local_infile_refused
            or _driver_module(dbapi_connection) not in LOCAL_INFILE_DRIVERS.values()
        ):
            super().stage_rows(dbapi_connection, stage, batch)
            return
        try:
            self._load_data(dbapi_connection, stage, batch)
        except Exception as exc:
            if not exc.args or exc.args[0] not in LOCAL_INFILE_REFUSED:
                raise
            log.warning(
                "The MySQL server refuses LOAD DATA LOCAL INFILE, so batches are staged with "
                "INSERT (about 5x slower); SET GLOBAL local_infile = 1 on the server to speed up syncs."
            )
            self._local_infile_refused = True
            super().stage_rows(dbapi_connection, stage, batch)

    def _load_data(self, dbapi_connection: Any, stage: str, batch: pa.Table) -> None:
        table, hexed = _csv_ready(batch)
        # A private directory (mode 0700), removed with the file whatever happens.
        with tempfile.TemporaryDirectory(prefix="mrsm_load_") as folder:
            path = os.path.join(folder, "batch.csv")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
                pa_csv.write_csv(table, file, CSV_OPTIONS)
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(self.load_data_sql(stage, batch.column_names, hexed), (path,))
                _raise_on_warnings(dbapi_connection, cursor)
            finally:
                cursor.close()

    def load_data_sql(self, stage: str, columns: Sequence[str], hexed: Sequence[bool]) -> str:
        """LOAD DATA of a CSV from :func:`_csv_ready` into ``stage``; ``%s`` is the file's path.

        Hex columns pass through a variable and UNHEX. (Quoted names come with ``%`` already
        doubled for the driver's format paramstyle.)
        """
        pairs = list(enumerate(zip(columns, hexed, strict=True)))
        targets = ", ".join(f"@mrsm_{i}" if is_hex else self.quote(c) for i, (c, is_hex) in pairs)
        sets = ", ".join(f"{self.quote(c)} = UNHEX(@mrsm_{i})" for i, (c, is_hex) in pairs if is_hex)
        # The newline is a real one: the same whether or not NO_BACKSLASH_ESCAPES is set.
        body = (
            f"INTO TABLE {stage} CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' "
            "OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\n' "
            f"({targets})" + (f" SET {sets}" if sets else "")
        )
        return f"LOAD DATA LOCAL INFILE %s {body}"


def _driver_module(dbapi_connection: Any) -> str:
    return type(dbapi_connection).__module__.split(".", 1)[0]


def _fetch_text(dbapi_connection: Any, sql: str, args: Mapping[str, Any]) -> tuple[list[str], Any]:
    """Run a query with PyMySQL's value converters off: each value comes back as the
    server's text (a str), or bytes from binary columns."""
    decoders = dbapi_connection.decoders
    dbapi_connection.decoders = {}
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, args)
        return [d[0] for d in cursor.description or ()], cursor.fetchall()
    finally:
        dbapi_connection.decoders = decoders
        cursor.close()


def _typed(values: list[Any], dtype: str) -> pa.Array:
    """A column of the server's text as Arrow of ``dtype``."""
    if dtype == "bytes":
        return pa.array(values, pa.binary())
    text = pa.array(values, pa.string())
    if dtype in ("str", "json", "uuid"):
        return text
    if dtype == "bool":  # TINYINT(1): '1' / '0'
        return text.cast(pa.int64()).cast(pa.bool_())
    if dtype == "datetime":  # DATETIME holds UTC without a zone
        return text.cast(pa.timestamp("us")).cast(arrow_type(dtype))
    return text.cast(arrow_type(dtype))


def _csv_ready(batch: pa.Table) -> tuple[pa.Table, list[bool]]:
    """The batch as columns the CSV writer renders in forms the server parses back exactly,
    and which of them are bytes written as hex."""
    hexed = [_is_bytes(column.type) for column in batch.columns]
    columns = [_csv_column(column) for column in batch.columns]
    return pa.table(columns, names=[f"c{i}" for i in range(len(columns))]), hexed


def _is_bytes(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind)
    )


def _csv_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if _is_bytes(column.type):
        return _hex(column)  # the writer takes UTF-8 only
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.timestamp("us"))  # UTC wall time, 'YYYY-MM-DD HH:MM:SS.ffffff'
    if pa.types.is_boolean(column.type):
        return column.cast(pa.int8())  # 1/0, not true/false
    return column


def _hex(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Bytes as lowercase hex text, nulls kept; two digits per byte through a lookup table."""
    return pa.chunked_array(
        [_hex_chunk(chunk) for chunk in column.cast(pa.large_binary()).chunks], pa.large_string()
    )


def _hex_chunk(chunk: pa.Array) -> pa.Array:
    if len(chunk) == 0:
        return pa.array([], pa.large_string())
    _, offsets_buffer, data_buffer = chunk.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data_buffer or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
    digits = np.empty(2 * len(data), dtype=np.uint8)
    digits[0::2] = HEX_DIGITS[data >> 4]
    digits[1::2] = HEX_DIGITS[data & 0x0F]
    text = pa.LargeStringArray.from_buffers(
        len(chunk), pa.py_buffer((offsets - offsets[0]) * 2), pa.py_buffer(digits)
    )
    return text if chunk.null_count == 0 else pc.if_else(chunk.is_valid(), text, None)


def _raise_on_warnings(dbapi_connection: Any, cursor: Any) -> None:
    """LOAD DATA LOCAL turns bad values into warnings (the server cannot stop an upload
    midway): raise them as the error a strict INSERT would have raised."""
    cursor.execute("SHOW WARNINGS LIMIT 3")
    problems = [(code, message) for level, code, message in cursor.fetchall() if level != "Note"]
    if problems:
        text = "; ".join(message for _, message in problems)
        raise dbapi_connection.DataError(problems[0][0], f"LOAD DATA changed values: {text}")
