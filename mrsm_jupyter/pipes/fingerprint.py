"""Fingerprints of a pipe's rows: what they cover, the grid that splits a window, and how
each side of a verify (instance and source) is asked for them.

A fingerprint of a set of rows is ``(rows, total)``: the row count and the sum of a 31-bit
hash of each row, computed where the rows live (``connectors/sql/fingerprint.py`` writes
the SQL). Sums do not depend on row order and add up: the fingerprint of a window is the
sum of the fingerprints of its parts, so one grouped scan answers for every part at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pyarrow as pa

from mrsm_jupyter.pipes.bounds import Window

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Dtypes of a datetime column whose values fingerprints place on a grid (as epoch
# microseconds, or as the integers themselves).
DATETIME_AXES = ("datetime", "datetime_naive")
INTEGER_AXIS = "int"


@dataclass(frozen=True)
class FingerprintSpec:
    """The columns a fingerprint covers, in a fixed order, and how rows spread on a grid.

    ``columns`` are ``(name, canonical dtype)`` sorted by name: only columns both sides have.
    ``key_columns`` are the keys besides the datetime column; they spread the rows of one
    timestamp over several grid buckets.
    """

    columns: tuple[tuple[str, str], ...]
    datetime_column: str | None
    key_columns: tuple[str, ...]

    @property
    def dtypes(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def axis(self) -> str | None:
        """``"datetime"``, ``"int"`` or ``None`` (no column to place rows in time)."""
        dtype = self.dtypes.get(self.datetime_column or "")
        if dtype in DATETIME_AXES:
            return "datetime"
        return INTEGER_AXIS if dtype == INTEGER_AXIS else None


@dataclass(frozen=True)
class Fingerprint:
    """Row count and hash sum of a window; ``low``/``high``: its extreme axis values;
    ``key_spread``: how many of 62 key buckets its rows fill (few keys fill few)."""

    rows: int
    total: int
    low: int | None = None
    high: int | None = None
    key_spread: int = 0

    def matches(self, other: Fingerprint) -> bool:
        return (self.rows, self.total) == (other.rows, other.total)


# Leaves come as a table: one row per non-empty leaf, its id, row count and hash sum (int64).
LEAF_COLUMNS = ("mrsm_leaf", "mrsm_n", "mrsm_sum")


def leaves_table(table: pa.Table | None = None) -> pa.Table:
    """Leaves as int64 columns, whatever integer types a driver answered with."""
    if table is None or table.num_rows == 0:
        return pa.table({name: pa.array([], pa.int64()) for name in LEAF_COLUMNS})
    return pa.table({name: table.column(name).cast(pa.int64()) for name in LEAF_COLUMNS})


@dataclass(frozen=True)
class Grid:
    """Leaves of a window: time slots of ``width`` axis units from ``origin``, each split into
    ``buckets`` by a hash of the key columns. Leaf id = slot * buckets + bucket."""

    origin: int
    width: int
    buckets: int

    def slot_window(self, leaves: Sequence[int], axis: str | None, within: Window) -> Window:
        """The part of ``within`` that holds the slots of ``leaves`` (all of it without an axis)."""
        if axis is None or not leaves or within.begin is None:
            return within
        low = self.origin + (min(leaves) // self.buckets) * self.width
        high = self.origin + (max(leaves) // self.buckets + 1) * self.width
        begin, end = axis_bound(low, axis), axis_bound(high, axis)
        if within.begin is not None and begin < within.begin:  # type: ignore[operator]
            begin = within.begin
        if within.end is not None and end > within.end:  # type: ignore[operator]
            end = within.end
        return Window(begin, end)


def axis_bound(value: int, axis: str) -> datetime | int:
    """An axis value (epoch microseconds for datetimes) as a window bound."""
    return EPOCH + timedelta(microseconds=value) if axis == "datetime" else value


def axis_value(bound: datetime | int) -> int:
    """A window bound as an axis value (the inverse of :func:`axis_bound`)."""
    if isinstance(bound, datetime):
        return (bound - EPOCH) // timedelta(microseconds=1)
    return bound


class Fingerprinter(Protocol):
    """One side of a verify: a pipe's table on its instance, or its source."""

    @property
    def bytes_read(self) -> int:
        """Bytes of rows brought into this process to be fingerprinted here (0 in SQL)."""

    def column_names(self, window: Window) -> list[str]:
        """The columns this side has (for a fetched source: the columns of that window)."""

    def summary(self, window: Window, spec: FingerprintSpec) -> Fingerprint:
        """The fingerprint of every row in ``window``, with its lowest and highest axis values."""

    def leaves(self, window: Window, spec: FingerprintSpec, grid: Grid) -> pa.Table:
        """The fingerprint of each non-empty leaf of ``grid`` in ``window``."""

    def rows(
        self,
        window: Window,
        spec: FingerprintSpec,
        grid: Grid | None,
        leaves: Sequence[int] | None,
        columns: Sequence[str] | None,
    ) -> pa.Table:
        """Rows in ``window`` (only those in ``leaves`` when given), all columns or ``columns``."""
