"""The pipe widget: table, chart, an id and time-range selector, and sync / clear buttons.

>>> PipeWidget(Pipe("demo", "temperature", instance="sql:memory"))  # doctest: +SKIP

Selecting an id or a time range re-queries the instance for both the table and the chart.
Clearing deletes what is selected, after a confirmation; syncing fetches new rows and
moves a progress bar per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import ipywidgets as w

from mrsm_jupyter.actions.errors import one_line
from mrsm_jupyter.actions.sync import sync_pipe
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jupyter.widgets.chart import (
    ALL_IDS,
    DEFAULT_MAX_POINTS,
    ChartQuery,
    build_figure,
    id_choices,
    read_points,
    redraw,
)
from mrsm_jupyter.jupyter.widgets.feedback import count_batches, status_html
from mrsm_jupyter.jupyter.widgets.paging import PageQuery
from mrsm_jupyter.jupyter.widgets.table import DEFAULT_PAGE_SIZE, PipeTableWidget
from mrsm_jupyter.pipes.pipe import Pipe

_HIDDEN = "none"
_SHOWN = ""


def _describe_window(begin: datetime | None, end: datetime | None) -> str:
    return f"[{begin.isoformat() if begin else '-inf'}, {end.isoformat() if end else 'inf'})"


class PipeWidget(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Everything about one pipe in a notebook, read from its instance on demand."""

    def __init__(
        self, pipe: Pipe, page_size: int = DEFAULT_PAGE_SIZE, max_points: int = DEFAULT_MAX_POINTS
    ) -> None:
        self.pipe = pipe
        self.max_points = max_points
        self.table = PipeTableWidget(pipe, page_size=page_size)
        self.figure = build_figure(pipe)
        self.id_selector = w.Dropdown(options=[ALL_IDS, *id_choices(pipe)], value=ALL_IDS, description="id")
        self.begin_picker = w.DatetimePicker(description="begin")
        self.end_picker = w.DatetimePicker(description="end (excl.)")
        self.sync_button = w.Button(description="Sync", icon="refresh")
        self.clear_button = w.Button(description="Clear…", button_style="warning", icon="trash")
        self.confirm_button = w.Button(description="Yes, clear", button_style="danger")
        self.cancel_button = w.Button(description="Cancel")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="batches")
        self.status = w.HTML("")
        for hidden in (self.confirm_button, self.cancel_button, self.progress):
            hidden.layout.display = _HIDDEN
        self._wire()
        selectors = w.HBox([self.id_selector, self.begin_picker, self.end_picker])
        buttons = w.HBox(
            [self.sync_button, self.clear_button, self.confirm_button, self.cancel_button, self.progress]
        )
        super().__init__(children=[self.table, selectors, self.figure, buttons, self.status])
        self.redraw_chart()

    def __repr__(self) -> str:
        return f"PipeWidget({self.pipe!r})"

    def _wire(self) -> None:
        for selector in (self.id_selector, self.begin_picker, self.end_picker):
            selector.observe(self._on_selection, names="value")
        self.sync_button.on_click(lambda _: self.sync())
        self.clear_button.on_click(lambda _: self.ask_clear())
        self.confirm_button.on_click(lambda _: self.confirm_clear())
        self.cancel_button.on_click(lambda _: self.cancel_clear())

    # What is selected.
    @property
    def chart_query(self) -> ChartQuery:
        return ChartQuery(self.id_selector.value, self.begin_picker.value, self.end_picker.value)

    @property
    def params(self) -> dict[str, Any] | None:
        id_column = self.pipe.columns.get("id")
        if not id_column or self.id_selector.value == ALL_IDS:
            return None
        return {id_column: self.id_selector.value}

    def _on_selection(self, change: dict[str, Any]) -> None:
        self.table.set_query(PageQuery(self.begin_picker.value, self.end_picker.value, self.params))
        self.redraw_chart()

    def redraw_chart(self) -> None:
        try:
            redraw(self.figure, self.pipe, read_points(self.pipe, self.chart_query, self.max_points))
        except MrsmError as exc:
            self._say(one_line(exc), error=True)

    def refresh(self) -> None:
        """Read everything again (after the pipe changed)."""
        self.table.refresh()
        chosen = self.id_selector.value
        options = [ALL_IDS, *id_choices(self.pipe)]
        with self.id_selector.hold_trait_notifications():
            self.id_selector.options = options
            self.id_selector.value = chosen if chosen in options else ALL_IDS
        self.redraw_chart()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.value = status_html(text, error=error)

    # Sync.
    def _count_batches(self, batches: Iterable[Any], pipe: Pipe) -> Iterator[Any]:
        return count_batches(self.progress, batches)

    def sync(self) -> None:
        """Fetch and merge new rows, with a progress bar; then show the new state."""
        self.progress.layout.display = _SHOWN
        self.sync_button.disabled = True
        try:
            result = sync_pipe(self.pipe, wrap=self._count_batches)
            self._say(result.message)
        except MrsmError as exc:
            self._say(one_line(exc), error=True)
        finally:
            self.sync_button.disabled = False
        self.refresh()

    # Clear, after a confirmation.
    def ask_clear(self) -> None:
        window = _describe_window(self.begin_picker.value, self.end_picker.value)
        which = "all ids" if self.params is None else f"{self.id_selector.value}"
        self._say(f"Delete the rows of {self.pipe} in {window} for {which}?")
        for button in (self.confirm_button, self.cancel_button):
            button.layout.display = _SHOWN

    def cancel_clear(self) -> None:
        for button in (self.confirm_button, self.cancel_button):
            button.layout.display = _HIDDEN
        self._say("Nothing was cleared.")

    def confirm_clear(self) -> None:
        for button in (self.confirm_button, self.cancel_button):
            button.layout.display = _HIDDEN
        try:
            result = self.pipe.clear(self.begin_picker.value, self.end_picker.value, self.params)
            self._say(result.message)
        except MrsmError as exc:
            self._say(one_line(exc), error=True)
        self.refresh()
