"""Where a pipe's columns live in its measurement, and the conversions between a pipe's
Arrow rows and InfluxDB's stored values (``storage.py``) for all of them at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.connectors.influxdb import lineprotocol
from mrsm_jupyter.connectors.influxdb.client import Series
from mrsm_jupyter.connectors.influxdb.influxql import TIME
from mrsm_jupyter.connectors.influxdb.storage import (
    STORAGE,
    from_storage,
    from_tag,
    rows_to_table,
    time_from_ns,
    time_to_ns,
    to_storage,
    to_tag,
)
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

    def lines(self, stored: pa.Table) -> pa.Array:
        """Line protocol of stored rows (each with the ``ROW`` field)."""
        fields = {c: _plain(stored.column(c)) for c in stored.column_names if c not in self.keys}
        fields[ROW] = pa.array([True] * stored.num_rows, pa.bool_())
        tags = {t: _plain(stored.column(t)) for t in self.tags if t in stored.column_names}
        return lineprotocol.lines(self.measurement, _plain(stored.column(TIME)), tags, fields)


def _plain(array: pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
