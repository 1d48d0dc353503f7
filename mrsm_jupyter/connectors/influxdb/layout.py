"""Where a pipe's columns live in its measurement, and the conversions between a pipe's
Arrow rows and InfluxDB's stored values (``storage.py``) for all of them at once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.connectors.influxdb import lineprotocol
from mrsm_jupyter.connectors.influxdb.client import Series
from mrsm_jupyter.connectors.influxdb.influxql import TIME, UnsupportedFilterError, Where, quote
from mrsm_jupyter.connectors.influxdb.storage import (
    STORAGE,
    bound_to_ns,
    from_storage,
    from_tag,
    rows_to_table,
    scalar_to_storage,
    time_from_ns,
    time_to_ns,
    to_storage,
    to_tag,
)
from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.dtypes import arrow_type

# A field every point carries: a point needs one, and COUNT, FIRST and LAST need one that
# no row lacks.
ROW = "_mrsm_row"
RESERVED = (TIME, ROW)


@dataclass(frozen=True)
class Layout:
    """A pipe's measurement: its datetime column is ``time``, its other keys are tags."""

    measurement: str
    time: str
    tags: tuple[str, ...]
    dtypes: Mapping[str, str]

    @property
    def time_dtype(self) -> str:
        return self.dtypes.get(self.time, "datetime")

    @property
    def keys(self) -> list[str]:
        """The stored point's identity: time and tags."""
        return [TIME, *self.tags]

    def kinds(self) -> dict[str, pa.DataType]:
        """Storage kind of each stored column (tags are text; unknown columns too)."""
        kinds = {name: STORAGE[dtype] for name, dtype in self.dtypes.items() if name != self.time}
        kinds.update({tag: pa.string() for tag in self.tags})
        return {**kinds, TIME: pa.int64(), ROW: pa.bool_()}

    def to_storage(self, table: pa.Table) -> pa.Table:
        """A pipe's rows as stored values: ``time`` in nanoseconds, tags as text."""
        columns: dict[str, pa.Array] = {
            TIME: time_to_ns(table.column(self.time).combine_chunks(), self.time_dtype)
        }
        for name in table.column_names:
            if name == self.time:
                continue
            array = table.column(name).combine_chunks()
            dtype = self.dtypes[name]
            columns[name] = to_tag(array, dtype) if name in self.tags else to_storage(array, dtype)
        return pa.table(columns)

    def from_storage(self, stored: pa.Table, columns: Sequence[str]) -> pa.Table:
        """Stored values back to the pipe's columns (absent ones as nulls)."""
        out: dict[str, pa.Array | pa.ChunkedArray] = {}
        for name in columns:
            dtype = self.dtypes.get(name, "str")
            source = TIME if name == self.time else name
            if source not in stored.column_names:
                out[name] = pa.nulls(stored.num_rows, arrow_type(dtype))
            elif name == self.time:
                out[name] = time_from_ns(stored.column(TIME), dtype)
            elif name in self.tags:
                out[name] = from_tag(stored.column(name), dtype)
            else:
                out[name] = from_storage(stored.column(name), dtype)
        return pa.table(out) if out else pa.table({})

    def read(self, pieces: Sequence[Series]) -> pa.Table:
        """Answer chunks of a ``SELECT`` as one stored table, with every key column (tags
        ``""`` where absent, as InfluxDB has no empty tags)."""
        kinds = self.kinds()
        tables = [rows_to_table(p.columns, p.values, kinds) for p in pieces if p.values]
        if not tables:
            table = pa.table({TIME: pa.array([], pa.int64())})
        else:
            table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
        for tag in self.tags:
            if tag not in table.column_names:
                table = table.append_column(tag, pa.array([""] * table.num_rows, pa.string()))
            else:
                table = table.set_column(
                    table.column_names.index(tag), tag, pc.fill_null(table.column(tag), "")
                )
        return table.drop_columns([ROW]) if ROW in table.column_names else table

    def where(self, pipe: object, window: Window, params: Mapping[str, Any] | None) -> Where:
        """The window and the params grammar, checked against the measurement's columns."""
        unknown = [c for c in (params or {}) if c not in self.dtypes]
        if unknown:
            raise PipeError(
                pipe, f"has no column {unknown[0]!r} to filter on.", f"Columns are: {', '.join(self.dtypes)}."
            )
        axis = self.time_dtype
        where = Where().time_window(
            None if window.begin is None else bound_to_ns(window.begin, axis),
            None if window.end is None else bound_to_ns(window.end, axis),
        )
        for column, value in (params or {}).items():
            try:
                if column == self.time:
                    where.matching(TIME, value, False, partial(bound_to_ns, dtype=axis))
                else:
                    tag = column in self.tags
                    encode = partial(scalar_to_storage, dtype=self.dtypes[column], tag=tag)
                    where.matching(column, value, tag, encode)
            except UnsupportedFilterError as exc:
                raise PipeError(
                    pipe,
                    f"cannot filter {column!r} on a missing value: InfluxDB stores no missing field values.",
                    "Filter on an id column (a tag) or on values.",
                ) from exc
        return where

    def deletes(self, keys: pa.Table, per_request: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """``DELETE`` statements of stored points by time and tags, ``per_request`` at a time."""
        rows = keys.to_pylist()
        for start in range(0, len(rows), per_request):
            where = Where()
            statements = []
            for row in rows[start : start + per_request]:
                clauses = [f"{TIME} = {where.bind(row[TIME])}"]
                clauses += [f"{quote(t)} = {where.bind(row[t] or '')}" for t in self.tags if t in row]
                statements.append(f"DELETE FROM {quote(self.measurement)} WHERE {' AND '.join(clauses)}")
            yield "; ".join(statements), where.params

    def lines(self, stored: pa.Table) -> pa.Array:
        """Line protocol of stored rows (each with the ``ROW`` field)."""
        fields = {c: _plain(stored.column(c)) for c in stored.column_names if c not in self.keys}
        fields[ROW] = pa.array([True] * stored.num_rows, pa.bool_())
        tags = {t: _plain(stored.column(t)) for t in self.tags if t in stored.column_names}
        return lineprotocol.lines(self.measurement, _plain(stored.column(TIME)), tags, fields)


def _plain(array: pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
