"""Cursor pagination of a pipe's rows, over the instance contract (no SQL here).

Rows come in key order (the datetime column, then the id columns). A cursor remembers the
last row sent: its datetime value, its other key values, and how many rows of that datetime
were sent already. The next page re-reads only that datetime's rows (to skip the ones sent),
then rows strictly after it, so every row arrives once and in order even while new rows are
being inserted. A page is bounded by rows and by bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.jupyter.server.wire import WireFormatError, decode_bound, dumps, to_json_value
from mrsm_jupyter.pipes.bounds import Bound, Window, step

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.instance import Params
    from mrsm_jupyter.pipes.pipe import Pipe

Order = Literal["asc", "desc"]
MAX_PAGE_ROWS = 1_000_000
MAX_PAGE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended (opaque to clients: they pass it back as text)."""

    dt: Bound
    key: tuple[Any, ...]
    seen: int
    remaining: int | None
    query: str

    def encode(self) -> str:
        data = {"dt": to_json_value(self.dt), "key": list(self.key), "seen": self.seen}
        data |= {"remaining": self.remaining, "q": self.query}
        return base64.urlsafe_b64encode(dumps(data).encode()).decode("ascii")

    @classmethod
    def decode(cls, text: str, query: str) -> Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(text.encode("ascii")))
            dt = decode_bound(data["dt"], "cursor")
            cursor = cls(
                dt=datetime.fromisoformat(dt) if isinstance(dt, str) else dt,
                key=tuple(data["key"]),
                seen=int(data["seen"]),
                remaining=None if data["remaining"] is None else int(data["remaining"]),
                query=str(data["q"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WireFormatError(f"the cursor {text[:40]!r} is not one this server gave.") from exc
        if cursor.query != query:
            raise WireFormatError("the cursor belongs to another query: pass the same filters and order.")
        return cursor


@dataclass(frozen=True)
class PageRequest:
    columns: Sequence[str] | None
    window: Window
    params: Params | None
    order: Order
    limit: int | None
    page_rows: int
    page_bytes: int

    @property
    def fingerprint(self) -> str:
        """Ties a cursor to the query it was made for."""
        text = dumps([self.columns, self.window.begin, self.window.end, self.params, self.order, self.limit])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Page:
    table: pa.Table
    next_cursor: Cursor | None


def _epsilon(bound: datetime | int) -> timedelta | int:
    """The smallest step of the axis (timestamps are stored to the microsecond)."""
    return timedelta(microseconds=1) if isinstance(bound, datetime) else 1


def _key_of(table: pa.Table, index: int, key_columns: Sequence[str]) -> tuple[Any, ...]:
    row = table.slice(index, 1).select(list(key_columns)).to_pylist()[0]
    return tuple(to_json_value(row[c]) for c in key_columns)


class _PageReader:
    """Reads one page of one request."""

    def __init__(self, pipe: Pipe, request: PageRequest) -> None:
        self.pipe = pipe
        self.request = request
        self.dt = pipe.columns.get("datetime")
        self.keys = pipe.key_columns
        self.others = [k for k in self.keys if k != self.dt]
        cols = request.columns
        self.read_columns = None if cols is None else [*cols, *(k for k in self.keys if k not in cols)]

    def read(self, window: Window, limit: int) -> pa.Table:
        connector = self.pipe.instance_connector
        r = self.request
        return connector.read_pipe(self.pipe, self.read_columns, window, r.params, r.order, limit)

    def after_window(self, dt: datetime | int) -> Window:
        """Rows strictly after ``dt`` in the request's order, inside the request's window."""
        w = self.request.window
        if self.request.order == "asc":
            return Window.of(step(dt, _epsilon(dt)), w.end)
        return Window.of(w.begin, dt)

    def bucket(self, cursor: Cursor, want: int) -> tuple[pa.Table, int, bool]:
        """Rows of the cursor's datetime not sent yet; where they start; whether more may follow."""
        assert cursor.dt is not None
        limit = cursor.seen + want + 1
        window = Window.of(cursor.dt, step(cursor.dt, _epsilon(cursor.dt)))
        table = self.read(window, limit)
        start = min(cursor.seen, table.num_rows)
        if self.others and table.num_rows:
            keys = zip(*(to_json_value(table.column(c).to_pylist()) for c in self.others), strict=True)
            found = [i for i, key in enumerate(keys) if key == cursor.key]
            start = found[-1] + 1 if found else start
        return table.slice(start), start, table.num_rows == limit

    def page(self, cursor: Cursor | None) -> Page:
        r = self.request
        remaining = cursor.remaining if cursor else r.limit
        want = r.page_rows if remaining is None else min(r.page_rows, remaining)
        if want <= 0:
            return Page(pa.table({}), None)
        if self.dt is None:
            return self._offset_page(cursor, want, remaining)
        parts: list[pa.Table] = []
        start, more = 0, False
        window = r.window
        if cursor is not None and cursor.dt is not None:
            rest, start, bucket_more = self.bucket(cursor, want)
            parts.append(rest.slice(0, want))
            more = bucket_more or rest.num_rows > want
            window = self.after_window(cursor.dt)
        needed = want - sum(p.num_rows for p in parts)
        if not more and needed > 0 and not window.is_empty:
            following = self.read(window, needed + 1)
            parts.append(following.slice(0, needed))
            more = following.num_rows > needed
        return self._finish(parts, cursor, start, more, remaining)

    def _offset_page(self, cursor: Cursor | None, want: int, remaining: int | None) -> Page:
        """Pipes without a datetime column: one ordered run of rows, paged by offset."""
        seen = cursor.seen if cursor else 0
        table = self.read(self.request.window, seen + want + 1)
        return self._finish([table.slice(seen, want)], cursor, seen, table.num_rows > seen + want, remaining)

    def _finish(
        self, parts: list[pa.Table], cursor: Cursor | None, start: int, more: bool, remaining: int | None
    ) -> Page:
        parts = [p for p in parts if p.num_columns]
        if not parts:
            return Page(pa.table({}), None)
        table = pa.concat_tables(parts, promote_options="permissive")
        table, cut = _bound_bytes(table, self.request.page_bytes)
        left = None if remaining is None else remaining - table.num_rows
        if not table.num_rows or not (more or cut) or left == 0:
            return Page(self._output(table), None)
        return Page(self._output(table), self._next_cursor(table, cursor, start, left))

    def _next_cursor(self, table: pa.Table, cursor: Cursor | None, start: int, left: int | None) -> Cursor:
        last = table.num_rows - 1
        query = self.request.fingerprint
        if self.dt is None:
            return Cursor(None, (), start + table.num_rows, left, query)
        dt = table.column(self.dt)[last].as_py()
        if cursor is not None and dt == cursor.dt:
            seen = start + table.num_rows
        else:
            seen = int(pc.sum(pc.equal(table.column(self.dt), table.column(self.dt)[last])).as_py() or 0)
        return Cursor(dt, _key_of(table, last, self.others), seen, left, query)

    def _output(self, table: pa.Table) -> pa.Table:
        columns = self.request.columns
        return table if columns is None else table.select(list(columns))


def _bound_bytes(table: pa.Table, page_bytes: int) -> tuple[pa.Table, bool]:
    """Cut the page to about ``page_bytes`` (never below one row)."""
    if table.num_rows <= 1 or table.nbytes <= page_bytes:
        return table, False
    rows = max(1, int(table.num_rows * page_bytes / table.nbytes))
    return table.slice(0, rows), rows < table.num_rows


def read_page(pipe: Pipe, request: PageRequest, cursor_text: str | None) -> Page:
    """One page of ``pipe``'s rows for ``request``, after the cursor (from the start without)."""
    cursor = Cursor.decode(cursor_text, request.fingerprint) if cursor_text else None
    return _PageReader(pipe, request).page(cursor)
