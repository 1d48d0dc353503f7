"""Reading a pipe page by page, so a table widget never holds more than one page.

The engine reads by window and limit (no offset), so pages are keyed by the datetime axis:
a :class:`Cursor` says where a page starts (a datetime value, and how many rows at exactly
that value earlier pages already showed). Rows sharing a datetime are ordered by the
pipe's other key columns here, so the same rows land on the same page every time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from mrsm_jupyter.pipes.bounds import Bound, step
from mrsm_jupyter.pipes.pipe import Pipe

# The smallest step past a datetime value, to start just after a group of equal values.
_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: at datetime ``at`` (``None``: the window's begin), after
    ``skip`` rows at that very value (or, for pipes without a datetime axis, after ``skip`` rows)."""

    at: Bound = None
    skip: int = 0


@dataclass(frozen=True)
class Page:
    frame: pd.DataFrame
    next: Cursor | None  # None on the last page


@dataclass(frozen=True)
class PageQuery:
    """The rows a table shows: a half-open window and a filter."""

    begin: Bound = None
    end: Bound = None
    params: Mapping[str, Any] | None = None


def _axis_value(value: Any) -> datetime | int:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else int(value)


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    present = [k for k in keys if k in frame.columns]
    if not present or frame.empty:
        return frame.reset_index(drop=True)
    return frame.sort_values(present, kind="stable", na_position="first").reset_index(drop=True)


def _rows_at(pipe: Pipe, dt: str, value: datetime | int, query: PageQuery) -> pd.DataFrame:
    """Every row whose datetime equals ``value``, in key order (a small group)."""
    frame = pipe.get_data(params={**(query.params or {}), dt: value})
    return _sorted(frame, pipe.key_columns)


def read_page(pipe: Pipe, cursor: Cursor, size: int, query: PageQuery) -> Page:
    """One page of ``size`` rows starting at ``cursor``, and the cursor of the next page."""
    dt = pipe.columns.get("datetime")
    if dt is None:
        return _read_page_by_offset(pipe, cursor, size, query)
    taken = pd.DataFrame()
    begin: Bound = query.begin
    if cursor.at is not None:
        assert isinstance(cursor.at, (datetime, int))
        group = _rows_at(pipe, dt, cursor.at, query)
        taken = group.iloc[cursor.skip : cursor.skip + size]
        if len(group) > cursor.skip + size:
            return Page(taken.reset_index(drop=True), Cursor(cursor.at, cursor.skip + size))
        begin = step(cursor.at, _AFTER if isinstance(cursor.at, datetime) else 1)
    need = size - len(taken)
    # One row more than needed tells whether another page follows.
    rest = pipe.get_data(begin=begin, end=query.end, params=query.params, order="asc", limit=need + 1)
    if len(rest) <= need:
        return Page(_sorted(pd.concat([taken, rest]) if len(taken) else rest, pipe.key_columns), None)
    if need == 0:  # the group at the cursor filled the page exactly
        assert cursor.at is not None
        return Page(taken.reset_index(drop=True), Cursor(cursor.at, cursor.skip + size))
    rest = rest.iloc[:need]
    last = _axis_value(rest[dt].iloc[-1])
    # The limit may have cut the group at the last datetime anywhere: take it again, in order.
    before = rest[rest[dt] != rest[dt].iloc[-1]]
    cut = len(rest) - len(before)
    group = _rows_at(pipe, dt, last, query).iloc[:cut]
    parts = [f for f in (taken, _sorted(before, pipe.key_columns), group) if len(f)]
    return Page(pd.concat(parts, ignore_index=True), Cursor(last, cut))


def _read_page_by_offset(pipe: Pipe, cursor: Cursor, size: int, query: PageQuery) -> Page:
    """Without a datetime axis there is no key to page on: read up to the page and slice.

    Later pages cost more; pipes of millions of rows have a datetime column.
    """
    frame = pipe.get_data(begin=query.begin, end=query.end, params=query.params, limit=cursor.skip + size + 1)
    frame = _sorted(frame, pipe.key_columns)
    page = frame.iloc[cursor.skip : cursor.skip + size].reset_index(drop=True)
    more = len(frame) > cursor.skip + size
    return Page(page, Cursor(None, cursor.skip + size) if more else None)
