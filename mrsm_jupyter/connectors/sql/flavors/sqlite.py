"""SQLite through SQLAlchemy. Datetimes are stored as UTC text, which sorts like time."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy.engine.interfaces import Dialect

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class SQLiteFlavor(Flavor):
    name: ClassVar[str] = "sqlite"
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
        statements = self.create_table(temp, new_columns, keys)
        statements += [
            f"INSERT INTO {temp} ({cols}) SELECT {cols} FROM {table}",
            f"DROP TABLE {table}",
            f"ALTER TABLE {temp} RENAME TO {table}",
        ]
        if keys and self.indexes_keys:
            statements.append(self.create_key_index(table, table_name, keys, unique=False))
        return statements

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
