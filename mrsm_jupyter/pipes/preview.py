"""What a pipe's source would give, read before anything is registered or synced.

>>> pipe = Pipe("sql:src", "raw", parameters={"fetch": {"definition": "SELECT * FROM t"}})  # doctest: +SKIP
>>> table = preview_fetch(pipe, limit=5)  # doctest: +SKIP
>>> infer_dtypes(table)  # doctest: +SKIP
{'ts': 'datetime', 'station': 'str', 'temp': 'float'}
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.dtypes import dtype_of_arrow

if TYPE_CHECKING:
    from mrsm_jupyter.pipes.pipe import Pipe


def _as_table(batch: Any) -> pa.Table:
    if isinstance(batch, pa.Table):
        return batch
    if type(batch).__module__.startswith("polars"):
        return batch.to_arrow()
    frame = batch if isinstance(batch, pd.DataFrame) else pd.DataFrame(batch)
    return pa.Table.from_pandas(frame, preserve_index=False)


def preview_fetch(pipe: Pipe, limit: int = 10) -> pa.Table:
    """The first ``limit`` rows the pipe's source gives (its whole span, nothing written).

    Sources that can stop early (SQL, InfluxDB) are asked for ``limit`` rows; others are
    fetched and their first batch cut.
    """
    source = pipe.source_connector
    if source is None or not hasattr(source, "fetch"):
        raise PipeError(
            pipe,
            f"has no source to preview ({pipe.connector_keys!r} is not a source connector).",
            "Pick a connector such as 'sql:src' or 'influxdb:lab'.",
        )
    preview = getattr(source, "fetch_preview", None)
    if preview is not None:
        table: pa.Table = preview(pipe, limit)
        return table
    fetched = source.fetch(pipe, Window())
    first = next(fetched, None) if isinstance(fetched, Iterator) else fetched
    return pa.table({}) if first is None else _as_table(first).slice(0, limit)


def _looks_like_datetimes(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    if not present:
        return False
    try:
        for value in present:
            datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def infer_dtypes(table: pa.Table) -> dict[str, str]:
    """Each column's canonical dtype; text that reads as ISO datetimes (SQLite's) is ``datetime``."""
    inferred: dict[str, str] = {}
    for name in table.column_names:
        column = table.column(name)
        dtype = dtype_of_arrow(column.type) or "str"
        if dtype == "str" and _looks_like_datetimes(column.to_pylist()):
            dtype = "datetime"
        inferred[name] = dtype
    return inferred
