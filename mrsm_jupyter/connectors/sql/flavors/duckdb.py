"""DuckDB: the embedded default. Reached through its own Python API (Arrow in and out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from sqlalchemy.engine.interfaces import Dialect

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query


class DuckDBFlavor(Flavor):
    name: ClassVar[str] = "duckdb"
    embedded: ClassVar[bool] = True
    max_identifier_length: ClassVar[int] = 255
    folds_identifier_case: ClassVar[bool] = True
    # Zone maps serve time windows; an index would make loads about 3x slower.
    indexes_keys: ClassVar[bool] = False
    returns_typed_arrow: ClassVar[bool] = True
    types: ClassVar[dict[str, str]] = {
        **Flavor.types,
        "float": "DOUBLE",
        "str": "VARCHAR",
        "datetime": "TIMESTAMPTZ",
        "numeric": "DECIMAL(38,10)",
        "json": "JSON",
        "bytes": "BLOB",
    }

    # Meerschaum's INSERT names the sequence ``pipe_id_seq`` itself.
    pipes_prelude: ClassVar[tuple[str, ...]] = ("CREATE SEQUENCE IF NOT EXISTS pipe_id_seq",)
    pipes_id_column: ClassVar[str] = "pipe_id INTEGER DEFAULT(nextval('pipe_id_seq')) PRIMARY KEY"
    pipes_key_type: ClassVar[str] = "VARCHAR"
    pipes_parameters_type: ClassVar[str] = "VARCHAR"

    def sqlalchemy_dialect(self) -> Dialect:
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        # DuckDB quotes like PostgreSQL; "named" keeps % in names as it is.
        dialect: Dialect = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
        return dialect

    def param(self, name: str) -> str:
        return f"${name}"

    def columns_query(self, table: str, schema: str | None) -> Query:
        # duckdb_columns() answers in about a third of information_schema's time.
        return (
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $table "
            "AND schema_name = coalesce($schema, current_schema()) ORDER BY column_index",
            {"table": table, "schema": schema},
        )

    def merge(
        self,
        table: str,
        stage: str,
        keys: Sequence[str],
        columns: Sequence[str],
        nullable: Sequence[str],
        upsert: bool,
    ) -> str | None:
        values = [c for c in columns if c not in keys]
        cols = ", ".join(self.quote(c) for c in columns)
        s_cols = ", ".join(f"s.{self.quote(c)}" for c in columns)
        matched = "WHEN MATCHED" if upsert else f"WHEN MATCHED AND {self.changed('t', 's', values)}"
        update = (
            f"{matched} THEN UPDATE SET " + ", ".join(f"{self.quote(v)} = s.{self.quote(v)}" for v in values)
            if values
            else ""
        )
        return (
            f"MERGE INTO {table} AS t USING {stage} AS s ON {self.key_match('t', 's', keys, nullable)} "
            f"{update} WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({s_cols}) RETURNING merge_action"
        )

    def utc_session(self) -> str | None:
        # DuckDB has no transaction-local settings; UTC only changes the zone datetimes are
        # shown in, never the instants this engine stores.
        return "SET TimeZone = 'UTC'"

    def dtype_of_sql_type(self, sql_type: str) -> str:
        return "float" if sql_type.upper() == "DOUBLE" else super().dtype_of_sql_type(sql_type)

    # Fingerprints: ``/`` divides as floats, EXTRACT(EPOCH) answers a double, no BIT type.
    def fence(self, subquery: str) -> str:
        return subquery  # DuckDB computes a repeated expression once already

    def int_div(self, a: str, b: str) -> str:
        return f"(({a}) // ({b}))"

    def epoch_us(self, expr: str) -> str:
        return f"epoch_us({expr})"

    def md5_int32(self, expr: str, binary: bool) -> str:
        data = expr if binary else f"CAST({expr} AS VARCHAR)"
        return f"CAST('0x' || SUBSTR(MD5({data}), 1, 8) AS BIGINT)"
