"""Microsoft SQL Server (2022+ for IS DISTINCT FROM). Covered by golden SQL only (no server here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from sqlalchemy.engine.interfaces import Dialect

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query


class MSSQLFlavor(Flavor):
    name: ClassVar[str] = "mssql"
    max_identifier_length: ClassVar[int] = 128
    folds_identifier_case: ClassVar[bool] = True
    types: ClassVar[dict[str, str]] = {
        "int": "BIGINT",
        "float": "FLOAT",
        "str": "NVARCHAR(MAX)",
        "bool": "BIT",
        "datetime": "DATETIMEOFFSET(6)",
        "datetime_naive": "DATETIME2(6)",
        "date": "DATE",
        "numeric": "NUMERIC(38,10)",
        "json": "NVARCHAR(MAX)",
        "uuid": "UNIQUEIDENTIFIER",
        "bytes": "VARBINARY(MAX)",
    }
    key_types: ClassVar[dict[str, str]] = {"str": "NVARCHAR(450)"}

    def sqlalchemy_dialect(self) -> Dialect:
        from sqlalchemy.dialects import mssql  # noqa: PLC0415

        dialect: Dialect = mssql.dialect()  # type: ignore[no-untyped-call]
        return dialect

    def param(self, name: str) -> str:
        return f":{name}"

    def temporary_name(self, name: str) -> str:
        return self.quote(f"#{name}")

    def create_stage(self, stage: str, columns: Mapping[str, str], keys: Sequence[str]) -> str:
        return super().create_stage(stage, columns, keys).replace("CREATE TEMPORARY TABLE", "CREATE TABLE", 1)

    def current_schema_sql(self) -> str:
        return "SCHEMA_NAME()"

    def add_column(self, table: str, column: str, dtype: str) -> list[str]:
        return [f"ALTER TABLE {table} ADD {self.quote(column)} {self.sql_type(dtype)}"]

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
            f"ALTER TABLE {table} ALTER COLUMN {self.quote(column)} {self.sql_type(dtype, column in keys)}"
        ]

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
        match = self.key_match("t", "s", keys, nullable)
        sql = f"UPDATE t SET {sets} FROM {table} AS t JOIN {stage} AS s ON {match}"
        return sql if upsert else f"{sql} WHERE {self.changed('t', 's', values)}"

    def select(
        self,
        table: str,
        columns: Sequence[str] | None,
        where: str,
        order_by: Sequence[str],
        descending: bool,
        limit: int | None,
    ) -> str:
        sql = super().select(table, columns, where, order_by, descending, None)
        return sql.replace("SELECT ", f"SELECT TOP ({int(limit)}) ", 1) if limit is not None else sql

    def deduplicate(self, table: str, temp: str, keys: Sequence[str], columns: Sequence[str]) -> list[str]:
        statements = super().deduplicate(table, temp, keys, columns)
        cols = ", ".join(self.quote(c) for c in columns)
        part = ", ".join(self.quote(k) for k in keys)
        statements[0] = (
            f"SELECT {cols} INTO {temp} FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY {part} "
            f"ORDER BY {part}) AS mrsm_rn FROM {table}) AS d WHERE mrsm_rn = 1"
        )
        return statements

    def lock_pipe(self, key: int) -> Query | None:
        return (
            "EXEC sp_getapplock @Resource = :name, @LockMode = 'Exclusive', @LockOwner = 'Transaction', "
            "@LockTimeout = 120000",
            {"name": f"mrsm_pipe_{key}"},
        )

    pipes_id_column: ClassVar[str] = "pipe_id INT IDENTITY(1,1) PRIMARY KEY"
    pipes_key_type: ClassVar[str] = "NVARCHAR(256)"
    pipes_parameters_type: ClassVar[str] = "NVARCHAR(MAX)"

    def create_pipes_table(self, table: str) -> list[str]:
        # T-SQL has no CREATE TABLE IF NOT EXISTS.
        create = super().create_pipes_table(table)[-1].replace("IF NOT EXISTS ", "")
        return [f"IF OBJECT_ID(N'mrsm_pipes', N'U') IS NULL {create}"]

    def create_runs_table(self, table: str, table_name: str, columns: Mapping[str, str]) -> list[str]:
        create, index = super().create_runs_table(table, table_name, columns)
        create = create.replace("IF NOT EXISTS ", "")
        index = index.replace("IF NOT EXISTS ", "")
        return [f"IF OBJECT_ID(N'{table_name}', N'U') IS NULL BEGIN {create}; {index} END"]
