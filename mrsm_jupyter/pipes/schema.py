"""Fit a normalized batch to a pipe's table: which columns to add, which to widen, what to cast.

Widening follows one ladder, ``int -> float -> numeric -> str``; a float batch whose values
are all whole numbers is cast down to the table's ``int`` instead of widening it.
A ``static`` pipe never changes its table: the batch must fit or it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.errors import SchemaError
from mrsm_jupyter.pipes.dtypes import arrow_type, dtype_of_arrow, ladder_rank, reinterprets


@dataclass
class SchemaPlan:
    """What a batch needs from the table before it can be merged."""

    batch: pa.Table
    # Each batch column's dtype once the plan is applied: the table's, the declared one or
    # the inferred one (Arrow alone cannot tell JSON or UUIDs from text).
    columns_types: dict[str, str] = field(default_factory=dict)
    add: dict[str, str] = field(default_factory=dict)
    widen: dict[str, str] = field(default_factory=dict)


def _is_whole(array: pa.ChunkedArray) -> bool:
    valid = pc.drop_null(array)
    if len(valid) == 0:
        return True
    finite = pc.is_finite(valid)
    if not pc.all(finite).as_py():
        return False
    return bool(pc.all(pc.equal(pc.floor(valid), valid)).as_py())


def _cast(array: pa.ChunkedArray, dtype: str, column: str, pipe: object) -> pa.ChunkedArray:
    if reinterprets(array, dtype):
        raise SchemaError(
            pipe,
            f"column {column!r} holds {dtype_of_arrow(array.type)} values that its {dtype} column "
            "would change (numbers are not epoch offsets, nor truth values unless 0 or 1).",
            f"Convert them first (pd.to_datetime(..., unit='s')) or declare dtypes={{{column!r}: 'str'}}.",
        )
    try:
        if dtype == "datetime" and pa.types.is_string(array.type):
            return pc.cast(pc.strptime(array, format="%Y-%m-%dT%H:%M:%S", unit="us"), arrow_type(dtype))
        return array.cast(arrow_type(dtype))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(
            pipe,
            f"column {column!r} holds {dtype_of_arrow(array.type)} values that do not fit "
            f"its {dtype} column ({exc}).",
            f"Clean the values or declare dtypes={{{column!r}: 'str'}}.",
        ) from exc


def _fit_column(
    array: pa.ChunkedArray,
    table_dtype: str,
    column: str,
    static: bool,
    pipe: object,
) -> tuple[pa.ChunkedArray, str | None]:
    """Return the batch column cast to fit, and the dtype to widen the table to (if any)."""
    batch_dtype = dtype_of_arrow(array.type)
    if batch_dtype is None or table_dtype in (batch_dtype, "str"):
        return _cast(array, table_dtype, column, pipe), None
    if {batch_dtype, table_dtype} == {"json", "str"} or {batch_dtype, table_dtype} == {"uuid", "str"}:
        return array, None
    if {batch_dtype, table_dtype} <= {"datetime", "datetime_naive"}:
        return _cast(array, table_dtype, column, pipe), None
    batch_rank, table_rank = ladder_rank(batch_dtype), ladder_rank(table_dtype)
    if batch_rank is not None and table_rank is not None:
        if batch_rank <= table_rank:
            return _cast(array, table_dtype, column, pipe), None
        if table_dtype == "int" and batch_dtype == "float" and _is_whole(array):
            return _cast(array, "int", column, pipe), None
    elif table_dtype in ("json", "uuid") and batch_dtype == "str":
        return array, None
    if static:
        raise SchemaError(
            pipe,
            f"column {column!r} is {table_dtype} in the table but {batch_dtype} in the batch, "
            "and the pipe is static.",
            "Cast the batch or edit the pipe to static=False.",
        )
    widened = batch_dtype if (batch_rank is not None and table_rank is not None) else "str"
    return _cast(array, widened, column, pipe), widened


def plan_schema(
    batch: pa.Table,
    table_types: Mapping[str, str],
    declared: Mapping[str, str],
    static: bool,
    pipe: object,
) -> SchemaPlan:
    """Decide how ``batch`` fits a table whose columns have ``table_types`` (canonical dtypes).

    New columns take their ``declared`` dtype when there is one, else the batch's.
    """
    columns: dict[str, pa.ChunkedArray] = {}
    plan = SchemaPlan(batch)
    for name in batch.column_names:
        array = batch.column(name)
        if name in table_types:
            columns[name], widened = _fit_column(array, table_types[name], name, static, pipe)
            if widened:
                plan.widen[name] = widened
            plan.columns_types[name] = widened or table_types[name]
            continue
        dtype = declared.get(name) or dtype_of_arrow(array.type)
        if dtype is None:  # all-null column never seen before: nothing to store yet
            continue
        if dtype != dtype_of_arrow(array.type):
            array = _cast(array, dtype, name, pipe)
        if static and table_types:
            raise SchemaError(
                pipe,
                f"the batch has a new column {name!r} but the pipe is static.",
                "Drop the column or edit the pipe to static=False.",
            )
        plan.add[name] = plan.columns_types[name] = dtype
        columns[name] = array
    plan.batch = pa.table(columns) if columns else batch.select([])
    return plan
