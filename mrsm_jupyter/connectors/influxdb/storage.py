"""How each canonical dtype is stored in InfluxDB, and read back.

Fields hold four kinds of values (integer, float, string, boolean) and tags hold strings, so
every dtype has one storage kind: datetimes are integer microseconds since the epoch, dates
integer days, numerics and JSON text, bytes base64 text. A tag holds the text of its storage
value (``"42"``, ``"true"``). The pipe's recorded dtypes say how to read the values back.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.pipes.dtypes import arrow_type

STORAGE: Mapping[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "json": pa.string(),
    "uuid": pa.string(),
    "numeric": pa.string(),
    "bytes": pa.string(),
    "datetime": pa.int64(),
    "datetime_naive": pa.int64(),
    "date": pa.int64(),
}
# InfluxDB's names for the four kinds of field values.
FIELD_TYPES: Mapping[str, str] = {"float": "float", "integer": "int", "string": "str", "boolean": "bool"}
_NANOSECONDS = {"datetime": 1000, "datetime_naive": 1000, "int": 1}


def to_storage(array: pa.Array, dtype: str) -> pa.Array:
    """Values of ``dtype`` as InfluxDB stores them."""
    if dtype in ("datetime", "datetime_naive"):
        return array.cast(arrow_type(dtype)).cast(pa.int64())
    if dtype == "date":
        return array.cast(pa.date32()).cast(pa.int32()).cast(pa.int64())
    if dtype == "bytes":
        return pa.array(
            [None if v is None else base64.b64encode(v).decode() for v in array.to_pylist()], pa.string()
        )
    return array.cast(STORAGE[dtype])


def from_storage(array: pa.Array, dtype: str) -> pa.Array:
    """Stored values back to ``dtype``'s Arrow type."""
    if dtype in ("datetime", "datetime_naive"):
        return array.cast(pa.int64()).cast(arrow_type(dtype))
    if dtype == "date":
        return array.cast(pa.int64()).cast(pa.int32()).cast(pa.date32())
    if dtype == "bytes":
        return pa.array([None if v is None else base64.b64decode(v) for v in array.to_pylist()], pa.binary())
    return array.cast(STORAGE[dtype]).cast(arrow_type(dtype))


def to_tag(array: pa.Array, dtype: str) -> pa.Array:
    """Tag text of values of ``dtype`` (empty text where there is no value: no tag)."""
    return pc.fill_null(to_storage(array, dtype).cast(pa.string()), "")


def from_tag(array: pa.Array, dtype: str) -> pa.Array:
    """Tag text back to ``dtype``; an absent tag is a null."""
    text = pc.if_else(pc.equal(array.cast(pa.string()), ""), None, array.cast(pa.string()))
    return from_storage(text.cast(STORAGE[dtype]), dtype)


def time_to_ns(array: pa.Array, dtype: str) -> pa.Array:
    """The datetime column as InfluxDB's nanosecond timestamps (an integer axis is taken as is)."""
    return pc.multiply(to_storage(array, dtype), _NANOSECONDS[dtype])


def time_from_ns(array: pa.Array, dtype: str) -> pa.Array:
    return from_storage(pc.divide(array.cast(pa.int64()), _NANOSECONDS[dtype]), dtype)


def bound_to_ns(value: Any, dtype: str) -> int:
    """One bound or filter value of the datetime column in nanoseconds."""
    stored = time_to_ns(pa.array([value], arrow_type(dtype)), dtype)[0].as_py()
    return int(stored)


def scalar_to_storage(value: Any, dtype: str, tag: bool) -> Any:
    """One filter value as the query must compare it: tag text or a stored field value."""
    array = pa.array([value]).cast(arrow_type(dtype))
    return (to_tag(array, dtype) if tag else to_storage(array, dtype))[0].as_py()


def rows_to_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], kinds: Mapping[str, pa.DataType]
) -> pa.Table:
    """Rows of a query's answer (JSON values) as a table of storage kinds.

    InfluxDB writes whole floats as JSON integers, so each column is built with its kind.
    """
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return pa.table(
        {name: _column(col, kinds.get(name, pa.string())) for name, col in zip(columns, values, strict=True)}
    )


def _column(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, kind)
    except (pa.ArrowInvalid, OverflowError):
        if not pa.types.is_floating(kind):
            raise
        # A whole float beyond int64 (1e20) arrives as a JSON integer too large for Arrow's int path.
        return pa.array([None if v is None else float(v) for v in values], kind)
