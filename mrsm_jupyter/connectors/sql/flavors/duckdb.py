"""DuckDB: the embedded default. Reached through its own Python API (Arrow in and out)."""

from __future__ import annotations

from typing import Any, ClassVar

from mrsm_jupyter.connectors.sql.flavors.base import Flavor


class DuckDBFlavor(Flavor):
    name: ClassVar[str] = "duckdb"
    max_identifier_length: ClassVar[int] = 255
    folds_identifier_case: ClassVar[bool] = True
    # Zone maps serve time windows; an index would make loads about 3x slower.
    indexes_keys: ClassVar[bool] = False
    types: ClassVar[dict[str, str]] = {
        **Flavor.types, "float": "DOUBLE", "str": "VARCHAR", "datetime": "TIMESTAMPTZ",
        "numeric": "DECIMAL(38,10)", "json": "JSON", "bytes": "BLOB",
    }

    def param(self, name: str) -> str:
        return f"${name}"

    def dtype_of_sql_type(self, sql_type: str) -> str:
        return "float" if sql_type.upper() == "DOUBLE" else super().dtype_of_sql_type(sql_type)

    def create_pipes_table(self, table: str) -> str:
        return (
            f"CREATE SEQUENCE IF NOT EXISTS mrsm_pipes_pipe_id_seq; CREATE TABLE IF NOT EXISTS {table} "
            "(pipe_id BIGINT PRIMARY KEY DEFAULT nextval('mrsm_pipes_pipe_id_seq'), "
            "connector_keys VARCHAR NOT NULL, metric_key VARCHAR NOT NULL, location_key VARCHAR, "
            "parameters JSON)"
        )

    def bind_value(self, value: Any, dtype: str | None) -> Any:
        return value
