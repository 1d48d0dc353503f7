"""Which rows of a batch are new, changed or unchanged against the points already stored.

Both sides are in storage form (``storage.py``): ``time`` in nanoseconds, tags as text
(``""`` for none), fields as stored. Writing a point merges its fields into the stored
point, so a field that a changed row leaves empty would keep its old value: such rows are
listed in ``cleared``, to be deleted first and written whole (the stored values of columns
the batch does not carry are put back into them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

_FOUND = "__mrsm_found"
_OLD = " __mrsm_old"


@dataclass
class Changes:
    """Rows to write (new and changed), rows to delete before writing, and the counts."""

    write: pa.Table
    cleared: pa.Table
    inserted: int
    updated: int
    unchanged: int


def _same(new: pa.ChunkedArray, old: pa.ChunkedArray) -> pa.ChunkedArray:
    equal = pc.fill_null(pc.equal(new, old), False)
    return pc.or_(equal, pc.and_(pc.is_null(new), pc.is_null(old)))


def _any(masks: Sequence[pa.ChunkedArray], rows: int) -> pa.ChunkedArray:
    result = pa.chunked_array([pa.array([False] * rows, pa.bool_())])
    for mask in masks:
        result = pc.or_(result, mask)
    return result


def diff(batch: pa.Table, stored: pa.Table, keys: Sequence[str]) -> Changes:
    """Compare ``batch`` with the ``stored`` points that share its keys (``time`` and tags)."""
    fields = [c for c in batch.column_names if c not in keys]
    old_only = [c for c in stored.column_names if c not in keys and c not in batch.column_names]
    renamed = stored.rename_columns([c if c in keys else c + _OLD for c in stored.column_names])
    renamed = renamed.append_column(_FOUND, pa.array([True] * stored.num_rows, pa.bool_()))
    joined = batch.join(renamed, keys=list(keys), join_type="left outer", use_threads=False)
    rows = joined.num_rows
    found = pc.is_valid(joined.column(_FOUND))

    def old(column: str) -> pa.ChunkedArray:
        if column + _OLD in joined.column_names:
            return joined.column(column + _OLD)
        return pa.chunked_array([pa.nulls(rows, batch.schema.field(column).type)])

    changed = _any([pc.invert(_same(joined.column(c), old(c))) for c in fields], rows)
    emptied = _any([pc.and_(pc.is_null(joined.column(c)), pc.is_valid(old(c))) for c in fields], rows)
    updated = pc.and_(found, changed)
    cleared = pc.and_(updated, emptied)
    to_write = pc.or_(pc.invert(found), updated)
    columns = {c: joined.column(c) for c in batch.column_names}
    for column in old_only:  # put back, in the rows deleted first, what the batch does not carry
        values = joined.column(column + _OLD)
        columns[column] = pc.if_else(cleared, values, pa.scalar(None, values.type))
    whole = pa.table(columns)
    inserted = int(pc.sum(pc.invert(found)).as_py() or 0)
    n_updated = int(pc.sum(updated).as_py() or 0)
    return Changes(
        write=whole.filter(to_write),
        cleared=whole.select(list(keys)).filter(cleared),
        inserted=inserted,
        updated=n_updated,
        unchanged=rows - inserted - n_updated,
    )
