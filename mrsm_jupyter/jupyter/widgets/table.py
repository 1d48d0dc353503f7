"""The pipe table widget: facts about a pipe and one page of its rows, read on demand.

The view (``static/pipe_table.js``) asks for a page by setting ``page``; the kernel reads
that page from the instance. Only one page of rows is ever held here.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets

from mrsm_jupyter.actions.errors import one_line
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jupyter.widgets.paging import Cursor, PageQuery, read_page
from mrsm_jupyter.pipes.pipe import Pipe

_STATIC = Path(__file__).parent / "static"
DEFAULT_PAGE_SIZE = 20


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _format_bound(value: object) -> str:
    if value is None:
        return "no rows"
    return value.isoformat() if isinstance(value, datetime) else str(value)


class PipeTableWidget(anywidget.AnyWidget):
    """A pipe's keys, instance, columns and types, row count, newest sync time, and a page of rows."""

    _esm = _STATIC / "pipe_table.js"
    _css = _STATIC / "pipe_table.css"

    title = traitlets.Unicode("").tag(sync=True)
    facts = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rowcount = traitlets.Int(0).tag(sync=True)
    sync_time = traitlets.Unicode("").tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(DEFAULT_PAGE_SIZE).tag(sync=True)
    page_count = traitlets.Int(0).tag(sync=True)
    has_next = traitlets.Bool(False).tag(sync=True)
    page_columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    page_rows = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, pipe: Pipe, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        super().__init__(page_size=page_size)
        self.pipe = pipe
        self.query = PageQuery()
        # cursors[n] is where page n starts; pages are reached in order, so it grows by one.
        self._cursors: list[Cursor] = [Cursor()]
        self.observe(self._on_page, names="page")
        self.refresh()

    def __repr__(self) -> str:
        return f"PipeTableWidget({self.pipe!r}, page={self.page})"

    def set_query(self, query: PageQuery) -> None:
        """Show rows of another window or filter, from the first page."""
        self.query = query
        self.refresh()

    def refresh(self) -> None:
        """Read the facts again and go back to the first page (after a sync or a clear)."""
        self._cursors = [Cursor()]
        try:
            self._read_facts()
            self._show_page(0)
            self.error = ""
        except MrsmError as exc:
            self.error = one_line(exc)
        self._set_page_quietly(0)

    def _set_page_quietly(self, number: int) -> None:
        """Move ``page`` to the page shown without asking for it to be read again."""
        self.unobserve(self._on_page, names="page")
        try:
            self.page = number
        finally:
            self.observe(self._on_page, names="page")

    def _read_facts(self) -> None:
        pipe = self.pipe
        self.title = repr(pipe)
        types = pipe.get_columns_types()
        roles = {column: role for role, column in pipe.columns.items()}
        self.columns = [{"name": n, "type": t, "role": roles.get(n, "")} for n, t in types.items()]
        self.rowcount = pipe.get_rowcount(
            begin=self.query.begin, end=self.query.end, params=self.query.params
        )
        self.sync_time = _format_bound(pipe.get_sync_time()) if types else "no rows"
        self.page_count = max(1, math.ceil(self.rowcount / self.page_size))
        self.facts = [
            ["connector", pipe.connector_keys],
            ["metric", pipe.metric_key],
            ["location", pipe.location_key or ""],
            ["instance", pipe.instance_keys],
            ["rows", f"{self.rowcount:,}"],
            ["newest", self.sync_time],
        ]

    def _on_page(self, change: dict[str, Any]) -> None:
        wanted = max(0, int(change["new"]))
        try:
            # Pages beyond those seen are reached by walking forward from the last known one.
            while len(self._cursors) <= wanted and self._show_page(len(self._cursors) - 1):
                pass
            shown = min(wanted, len(self._cursors) - 1)
            self._show_page(shown)
            self.error = ""
        except MrsmError as exc:
            self.error = one_line(exc)
            return
        self._set_page_quietly(shown)

    def _show_page(self, number: int) -> bool:
        """Show page ``number``; return whether another page follows."""
        if not self.columns:  # no table yet
            self.page_columns, self.page_rows, self.has_next = [], [], False
            return False
        page = read_page(self.pipe, self._cursors[number], self.page_size, self.query)
        del self._cursors[number + 1 :]
        if page.next is not None:
            self._cursors.append(page.next)
        self.page_columns = [str(c) for c in page.frame.columns]
        self.page_rows = [[_cell(v) for v in row] for row in page.frame.itertuples(index=False)]
        self.has_next = page.next is not None
        return self.has_next
