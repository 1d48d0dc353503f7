"""SQLite through SQLAlchemy. Datetimes are stored as UTC text, which sorts like time."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy.engine.interfaces import Dialect

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SQLiteFlavor(Flavor):
    name: ClassVar[str] = "sqlite"
    embedded: ClassVar[bool] = True
    max_identifier_length: ClassVar[int] = 1024
    folds_identifier_case: ClassVar[bool] = True
    types: ClassVar[dict[str, str]] = {
        "int": "INTEGER",
        "float": "REAL",
        "str": "TEXT",
        "bool": "BOOLEAN",
        "datetime": "DATETIME",
        "datetime_naive": "TIMESTAMP",
        "date": "DATE",
        # TEXT affinity keeps numerics, JSON and UUIDs exactly as written.
        "numeric": "NUMERIC_TEXT",
        "json": "JSON_TEXT",
        "uuid": "UUID_TEXT",
        "bytes": "BLOB",
    }

    def sqlalchemy_dialect(self) -> Dialect:
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415

        dialect: Dialect = sqlite.dialect()
        return dialect

    def param(self, name: str) -> str:
        return f":{name}"  # sqlite3's named style

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def dtype_of_sql_type(self, sql_type: str) -> str:
        t = sql_type.upper()
        special = {
            "DATETIME": "datetime",
            "TIMESTAMP": "datetime_naive",
            "NUMERIC_TEXT": "numeric",
            "JSON_TEXT": "json",
            "UUID_TEXT": "uuid",
            "REAL": "float",
        }
        return special.get(t) or super().dtype_of_sql_type(sql_type)

    def bind_value(self, value: Any, dtype: str | None) -> Any:
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return value.strftime(DATETIME_FORMAT)
        return value

    def columns_query(self, table: str, schema: str | None) -> Query:
        return f"SELECT name, type FROM pragma_table_info({self.param('table')}) ORDER BY cid", {
            "table": table
        }

    def tables_like_query(self, table: str) -> Query:
        return (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND lower(name) = "
            f"lower({self.param('table')})",
            {"table": table},
        )

    def not_distinct(self, a: str, b: str) -> str:
        return f"{a} IS {b}"

    def distinct(self, a: str, b: str) -> str:
        return f"{a} IS NOT {b}"

    def widen_column(
        self,
        table: str,
        table_name: str,
        column: str,
        dtype: str,
        columns: Mapping[str, str],
        keys: Sequence[str],
    ) -> list[str]:
        """SQLite cannot change a column's type: rebuild the table (its documented procedure)."""
        new_columns = {**columns, column: dtype}
        temp = self.quote(f"{table_name}__mrsm_widen")
        cols = ", ".join(self.quote(c) for c in new_columns)
        values = ", ".join(
            self._real_as_exact_text(self.quote(c)) if c == column and dtype == "str" else self.quote(c)
            for c in new_columns
        )
        statements = self.create_table(temp, new_columns, keys)
        statements += [
            f"INSERT INTO {temp} ({cols}) SELECT {values} FROM {table}",
            f"DROP TABLE {table}",
            f"ALTER TABLE {temp} RENAME TO {table}",
        ]
        if keys and self.indexes_keys:
            statements.append(self.create_key_index(table, table_name, keys, unique=False))
        return statements

    @staticmethod
    def _real_as_exact_text(col: str) -> str:
        """A REAL as text that reads back as the same float: SQLite's own conversion keeps 15
        significant digits (1000000000000001.0 became '1.0e+15'), so 17 where 15 would round."""
        short, full = f"printf('%!.15g', {col})", f"printf('%!.17g', {col})"
        exact = f"CASE WHEN CAST({short} AS REAL) = {col} THEN {short} ELSE {full} END"
        return f"CASE WHEN typeof({col}) = 'real' THEN {exact} ELSE {col} END"

    # Fingerprints: no MD5 and millisecond-only date functions, so two deterministic Python
    # functions are registered on every connection (register_fingerprint_functions).
    def fence(self, subquery: str) -> str:
        return f"{subquery} LIMIT -1"  # a subquery with LIMIT is not flattened into an aggregate

    def modulo(self, a: str, b: str) -> str:
        return f"(({a}) % ({b}))"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS INTEGER)"

    def double(self, expr: str) -> str:
        return f"CAST({expr} AS REAL)"

    def floor_bigint(self, expr: str) -> str:
        # FLOOR needs SQLite's optional math functions; CAST truncates toward zero.
        truncated = self.bigint(expr)
        return f"({truncated} - ({expr} < {truncated}))"

    def clamp(self, expr: str, low: str, high: str) -> str:
        return f"MIN(MAX({expr}, {low}), {high})"

    def power_of_two(self, exponent: str) -> str:
        return f"(1 << ({exponent}))"

    def bit_or(self, expr: str) -> str:
        return f"SUM(DISTINCT {expr})"  # of distinct powers of two: their OR

    def epoch_us(self, expr: str) -> str:
        return f"mrsm_epoch_us({expr})"

    def epoch_days(self, expr: str) -> str:
        return self.bigint(f"julianday({expr}) - 2440587.5")

    def md5_int32(self, expr: str, binary: bool) -> str:
        return f"mrsm_md5_int32({expr})"

    dbapi_placeholder: ClassVar[str] = "?"
    # INTEGER PRIMARY KEY makes pipe_id the rowid, as in Meerschaum's table.
    pipes_id_column: ClassVar[str] = "pipe_id INTEGER NOT NULL PRIMARY KEY"
    pipes_parameters_type: ClassVar[str] = "TEXT"

    def python_values(self, array: Any) -> list[Any]:
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.compute as pc  # noqa: PLC0415

        if pa.types.is_timestamp(array.type):
            return pc.strftime(array, format="%Y-%m-%d %H:%M:%S").to_pylist()  # type: ignore[no-any-return]
        if pa.types.is_decimal(array.type):
            return array.cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
        return array.to_pylist()  # type: ignore[no-any-return]

    def arrow_column(self, values: Sequence[Any], dtype: str | None) -> Any:
        if dtype in ("datetime", "datetime_naive"):
            import pandas as pd  # noqa: PLC0415
            import pyarrow as pa  # noqa: PLC0415

            parsed = pd.to_datetime(
                pd.Series(values, dtype=object), utc=dtype == "datetime", format="ISO8601"
            )
            return pa.array(parsed, type=pa.timestamp("us", tz="UTC" if dtype == "datetime" else None))
        if dtype == "date":
            values = [None if v is None else date.fromisoformat(str(v)[:10]) for v in values]
        if dtype == "numeric":
            from decimal import Decimal  # noqa: PLC0415

            values = [None if v is None else Decimal(str(v)) for v in values]
        return super().arrow_column(values, dtype)


def _epoch_us(value: str | None) -> int | None:
    """Microseconds since 1970 of a stored datetime text (naive texts are UTC)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _md5_int32(value: str | bytes | float | None) -> int | None:
    """The first 32 bits of the MD5 of a value's UTF-8 text (or its bytes)."""
    if value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode()
    return int.from_bytes(hashlib.md5(data, usedforsecurity=False).digest()[:4], "big")


def register_fingerprint_functions(dbapi_connection: sqlite3.Connection) -> None:
    """The functions fingerprints call, on one sqlite3 connection."""
    dbapi_connection.create_function("mrsm_epoch_us", 1, _epoch_us, deterministic=True)
    dbapi_connection.create_function("mrsm_md5_int32", 1, _md5_int32, deterministic=True)
