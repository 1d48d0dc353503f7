"""Turn whatever a user syncs into one clean Arrow table.

Accepted: pandas DataFrame, pyarrow Table or RecordBatch, polars DataFrame, list of dicts,
dict of lists. Lists and dicts go through pandas so that the same values get the same types
whichever way they came. Steps: declared dtypes enforced, datetimes made UTC (naive taken as
UTC unless the dtype says naive), in-batch duplicate keys dropped keeping the last row.
"""

from __future__ import annotations

import json
import math
import numbers
import threading
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.errors import BatchError
from mrsm_jupyter.pipes.dtypes import LADDER, TIME_DTYPES, arrow_type, dtype_of_arrow, reinterprets

BatchLike = Any  # DataFrame | pa.Table | polars.DataFrame | list[dict] | dict[str, list]


def to_pandas_frame(data: BatchLike, pipe: object) -> pd.DataFrame | pa.Table:
    """Bring a batch to a pandas DataFrame, or leave an Arrow table as it is."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pd.DataFrame):
        return data
    if type(data).__module__.startswith("polars"):
        return data.to_arrow()
    if isinstance(data, (list, tuple, Mapping)):
        try:
            return pd.DataFrame(data)
        except ValueError as exc:  # columns of different lengths, scalars where lists belong
            raise BatchError(
                pipe,
                f"cannot read the batch as a table: {exc}.",
                "Give every column a list of the same length, or pass a list of row dicts.",
            ) from exc
    raise BatchError(
        pipe,
        f"cannot sync an object of type {type(data).__name__}.",
        "Pass a DataFrame, an Arrow table, a list of dicts, a dict of lists or an iterator of these.",
    )


def _is_missing(value: Any) -> bool:
    return (
        value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    )


def _json_text(value: Any) -> Any:
    if _is_missing(value):
        return None
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    )


def _enforce_pandas(df: pd.DataFrame, dtypes: Mapping[str, str], pipe: object) -> pd.DataFrame:
    """Apply declared dtypes and tidy object columns before the Arrow conversion."""
    changes: dict[str, Any] = {}
    for col in df.columns:
        series = df[col]
        dtype = dtypes.get(col)
        try:
            changes[col] = _enforce_series(series, dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            raise BatchError(
                pipe,
                f"column {col!r} cannot be read as {dtype or 'one type'}: {exc}.",
                f"Fix the values or declare dtypes={{{col!r}: ...}}.",
            ) from exc
    return df.assign(**{str(k): v for k, v in changes.items() if v is not None}) if changes else df


def _holds_numbers(series: pd.Series) -> bool:
    """Numbers or booleans (not only missing values): pandas would read them as epoch offsets."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return bool(series.notna().any())
    return series.dtype == object and any(
        isinstance(v, numbers.Number) and not _is_missing(v) for v in series
    )


def _enforce_series(series: pd.Series, dtype: str | None) -> pd.Series | None:
    if dtype in ("datetime", "datetime_naive"):
        if pd.api.types.is_datetime64_any_dtype(series.dtype) or _holds_numbers(series):
            # Numbers are no instants: the schema plan widens the column to text or refuses them.
            return None
        parsed = pd.to_datetime(series, utc=True, format="mixed")
        return parsed.dt.tz_localize(None) if dtype == "datetime_naive" else parsed
    if dtype == "json":
        return series.map(_json_text).astype(object)
    if dtype == "uuid":
        return series.map(lambda v: None if _is_missing(v) else str(uuid.UUID(str(v)))).astype(object)
    if dtype == "numeric":
        return series.map(lambda v: None if _is_missing(v) else Decimal(str(v))).astype(object)
    if dtype == "str" and not pd.api.types.is_string_dtype(series.dtype):
        return series.map(lambda v: None if _is_missing(v) else str(v)).astype(object)
    if series.dtype == object:
        return _tidy_object(series)
    return None


def _tidy_object(series: pd.Series) -> pd.Series | None:
    """Object columns: datetimes with mixed offsets become UTC, dicts and lists become JSON."""
    sample = series.dropna()
    if sample.empty:
        return None
    kinds = {type(v) for v in sample}
    if all(issubclass(k, (pd.Timestamp, datetime)) for k in kinds):
        return pd.to_datetime(series, utc=True)
    if all(issubclass(k, (dict, list)) for k in kinds):
        return series.map(_json_text).astype(object)
    if all(issubclass(k, uuid.UUID) for k in kinds):
        return series.map(lambda v: None if v is None else str(v)).astype(object)
    return None


def _check_column_names(names: Sequence[object], pipe: object) -> None:
    """Names a table can have: strings, none empty, none twice (pandas and Arrow allow all)."""
    dupes = sorted(str(name) for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise BatchError(pipe, f"the batch has duplicate column names {dupes}.", "Rename them.")
    odd = [c for c in names if not isinstance(c, str)]
    if odd:
        raise BatchError(pipe, f"column names must be strings, got {odd[:3]}.", "Rename the columns.")
    if "" in names:
        raise BatchError(pipe, "the batch has a column with an empty name.", "Name every column.")


def _frame_to_arrow(df: pd.DataFrame, pipe: object) -> pa.Table:
    try:
        # One thread: numeric columns are zero-copy, and a thread pool costs more than it saves.
        return pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        col = next((c for c in df.columns if _column_fails(df[c])), None)
        raise BatchError(
            pipe,
            f"column {col!r} mixes value types ({exc}).",
            f"Declare dtypes={{{col!r}: 'str'}} (or 'json') or clean the column.",
        ) from exc


def _column_fails(series: pd.Series) -> bool:
    try:
        pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return True
    return False


def _normalize_column(array: pa.ChunkedArray, dtype: str | None) -> pa.ChunkedArray:
    typ = array.type
    if pa.types.is_dictionary(typ):
        array = array.cast(typ.value_type)
        typ = array.type
    if pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        array = array.cast(pa.string())
    if pa.types.is_timestamp(typ):
        target = pa.timestamp("us", tz=None if dtype == "datetime_naive" else "UTC")
        if typ.tz is not None and target.tz is None:
            array = pc.local_timestamp(array.cast(pa.timestamp(typ.unit, tz="UTC")))
        array = array.cast(target, safe=False)
    elif dtype is None or dtype in LADDER or dtype_of_arrow(array.type) in (None, dtype):
        pass  # ladder types (int, float, numeric, str) are fitted to the table by the schema plan
    elif array.null_count == len(array):
        array = pa.chunked_array([pa.nulls(len(array), arrow_type(dtype))], arrow_type(dtype))
    elif not reinterprets(array, dtype):  # numbers that would change meaning go to the plan as they are
        array = array.cast(arrow_type(dtype))
    return array


def normalize_batch(
    data: BatchLike,
    dtypes: Mapping[str, str],
    keys: Sequence[str],
    datetime_column: str | None,
    pipe: object,
) -> pa.Table:
    """One clean Arrow table: declared dtypes, UTC datetimes, unique keys (last row wins)."""
    frame = to_pandas_frame(data, pipe)
    if isinstance(frame, pd.DataFrame):
        _check_column_names(list(frame.columns), pipe)
        frame = _frame_to_arrow(_enforce_pandas(frame, dtypes, pipe), pipe)
    else:
        _check_column_names(frame.column_names, pipe)
    table = frame.replace_schema_metadata(None)
    try:
        columns = [
            _normalize_column(table.column(i), dtypes.get(name)) for i, name in enumerate(table.column_names)
        ]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BatchError(
            pipe, f"a column does not match its declared dtype ({exc}).", "Fix the values or the dtypes."
        ) from exc
    table = pa.table(dict(zip(table.column_names, columns, strict=True)))
    missing = [k for k in keys if k not in table.column_names]
    if missing and table.num_rows:
        raise BatchError(
            pipe, f"the batch lacks the key columns {missing}.", "Add them or edit the pipe's columns."
        )
    _check_datetime_axis(table, dtypes, datetime_column, pipe)
    if datetime_column and table.num_rows and table.column(datetime_column).null_count:
        count = table.column(datetime_column).null_count
        raise BatchError(
            pipe,
            f"{count} rows have no value in the datetime column {datetime_column!r}.",
            "Drop those rows or fill them before syncing.",
        )
    return drop_duplicate_keys(table, keys)


def _check_datetime_axis(
    table: pa.Table, dtypes: Mapping[str, str], datetime_column: str | None, pipe: object
) -> None:
    """A datetime column of points in time takes no numbers (widening it to text would break
    the pipe's time axis, and numbers are not read as epoch offsets)."""
    dtype = dtypes.get(datetime_column or "")
    if datetime_column not in table.column_names or dtype not in TIME_DTYPES:
        return
    array = table.column(datetime_column)
    if reinterprets(array, dtype):
        raise BatchError(
            pipe,
            f"the datetime column {datetime_column!r} holds {dtype_of_arrow(array.type)} values, "
            f"but its dtype is {dtype} (numbers are not read as epoch offsets).",
            f"Convert them first, e.g. pd.to_datetime(df[{datetime_column!r}], unit='s', utc=True).",
        )


def drop_duplicate_keys(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Keep the last row of each key, in the batch's order (DuckDB does the counting fast)."""
    if not keys or table.num_rows < 2:
        return table
    con = _scratch_connection()
    try:
        con.register("batch", table)
        quoted = ", ".join('"' + k.replace('"', '""') + '"' for k in keys)
        distinct = con.sql(f"SELECT count(*) FROM (SELECT DISTINCT {quoted} FROM batch)").fetchall()[0][0]  # noqa: S608 (quoted identifiers)
        if distinct == table.num_rows:
            return table
        numbered = table.append_column("__mrsm_row", pa.array(range(table.num_rows), pa.int64()))
        con.register("numbered", numbered)
        keep = (
            con.sql(
                f"SELECT __mrsm_row FROM numbered QUALIFY row_number() OVER "  # noqa: S608
                f"(PARTITION BY {quoted} ORDER BY __mrsm_row DESC) = 1 ORDER BY __mrsm_row"
            )
            .to_arrow_table()
            .column(0)
        )
    finally:
        con.unregister("batch")
        con.unregister("numbered")
    return table.take(keep)


_scratch = threading.local()


def _scratch_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB per thread for batch work (connecting costs ~15 ms; reuse it)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_scratch, "con", None)
    if con is None:
        con = _scratch.con = duckdb.connect()
    return con
