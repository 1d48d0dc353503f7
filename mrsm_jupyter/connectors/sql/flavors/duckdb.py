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

    def param(self, name: str) -> str:
        return f"${name}"

    def dtype_of_sql_type(self, sql_type: str) -> str:
        return "float" if sql_type.upper() == "DOUBLE" else super().dtype_of_sql_type(sql_type)

    def bind_value(self, value: Any, dtype: str | None) -> Any:
        return value
