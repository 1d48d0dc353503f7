"""MySQL and MariaDB through SQLAlchemy and PyMySQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy.engine.interfaces import Dialect

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query


class MySQLFlavor(Flavor):
    name: ClassVar[str] = "mysql"
    max_identifier_length: ClassVar[int] = 64
    folds_identifier_case: ClassVar[bool] = True
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

        dialect: Dialect = mysql.dialect()
        return dialect

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
        return "SELECT GET_LOCK(:name, :timeout)", {"name": f"mrsm_pipe_{key}", "timeout": 120}

    def unlock_pipe(self, key: int) -> Query | None:
        return "SELECT RELEASE_LOCK(:name)", {"name": f"mrsm_pipe_{key}"}

    pipes_id_column: ClassVar[str] = "pipe_id INTEGER AUTO_INCREMENT PRIMARY KEY"
    pipes_parameters_type: ClassVar[str] = "TEXT"
