"""Arrow tables read from an instance, as the pandas DataFrames Meerschaum users expect."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _utc(table: pa.Table) -> pa.Table:
    """One spelling of UTC whatever the engine says (DuckDB answers ``Etc/UTC``)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz not in (None, "UTC"):
            table = table.set_column(
                i, field.name, table.column(i).cast(pa.timestamp(field.type.unit, "UTC"))
            )
    return table


def to_frame(table: pa.Table, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Datetimes stay UTC-aware, ints with nulls become ``Int64``, JSON becomes objects."""
    df: pd.DataFrame = _utc(table).to_pandas()
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_integer(column.type) and column.null_count:
            df[name] = pd.array(column.to_pylist(), dtype="Int64")
        elif pa.types.is_boolean(column.type) and column.null_count:
            df[name] = pd.array(column.to_pylist(), dtype="boolean")
        elif dtypes.get(name) == "json":
            df[name] = pd.Series([_loads(v) for v in column.to_pylist()], dtype=object, index=df.index)
    return df


def empty_frame(dtypes: Mapping[str, str]) -> pd.DataFrame:
    """An empty DataFrame that still has the pipe's columns, when they are known."""
    from mrsm_jupyter.pipes.dtypes import arrow_type  # noqa: PLC0415

    schema = pa.schema([(name, arrow_type(dtype)) for name, dtype in dtypes.items()])
    frame: pd.DataFrame = to_frame(schema.empty_table(), dtypes)
    return frame
