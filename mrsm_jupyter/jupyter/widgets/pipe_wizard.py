"""The pipe wizard (``%mrsm bootstrap pipe``): source, fetch with a preview, columns, instance,
then register and sync, after a confirmation.

>>> PipeWizard(PipeDraft(instance="sql:memory"))  # doctest: +SKIP

1. Pick a source connector, or define one (type, label, URI) for this kernel.
2. Write what to read (SQL, or a measurement), or start from a listed one; preview its first rows.
3. Pick the datetime and id columns among the previewed ones (inferred types shown).
4. Name the pipe and pick its instance; the equivalent line of Python is shown.
5. "Register and sync…" asks first; only "Yes" registers the pipe and runs its first sync.

A thin shell: it calls the public Python API (``actions/bootstrap.py``, ``pipes/preview.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from html import escape
from typing import Any

import ipywidgets as w

from mrsm_jupyter.actions.bootstrap import FETCH_KEYS, PipeDraft, fetch_choices, register_and_sync
from mrsm_jupyter.actions.errors import one_line
from mrsm_jupyter.connectors.registry import connector_types, define_connector, known_connectors
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jupyter.display import html_table
from mrsm_jupyter.jupyter.widgets.feedback import count_batches, status_html
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.preview import infer_dtypes, preview_fetch
from mrsm_jupyter.pipes.result import SyncResult

NEW_CONNECTOR = "new connector…"
INSTANCE_TYPES = ("sql", "api", "influxdb")
PREVIEW_ROWS = 10
_TIME_DTYPES = ("datetime", "datetime_naive", "date", "int")
_PLACEHOLDERS = {"sql": "SELECT ts, station, temp FROM weather", "influxdb": "cpu (a measurement)"}
_HIDDEN, _SHOWN = "none", ""


def _sources() -> list[str]:
    return [k for k in known_connectors() if k.split(":", 1)[0] in FETCH_KEYS] + [NEW_CONNECTOR]


def _instances(current: str) -> list[str]:
    found = [k for k in known_connectors() if k.split(":", 1)[0] in INSTANCE_TYPES]
    return found if current in found else [*found, current]


def _heading(text: str) -> w.HTML:
    return w.HTML(f"<b>{escape(text)}</b>")


class PipeWizard(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Guides a user through a new pipe; nothing is registered until they confirm."""

    def __init__(
        self, draft: PipeDraft | None = None, *, on_registered: Callable[[Pipe], None] | None = None
    ) -> None:
        draft = draft or PipeDraft()
        self.on_registered = on_registered
        self.pipe: Pipe | None = None
        self.result: SyncResult | None = None
        self.inferred: dict[str, str] = {}
        self._make_source(draft)
        self._make_fetch(draft)
        self._make_columns()
        self._make_pipe(draft)
        self._make_confirm()
        self._wire()
        super().__init__(children=self._sections())
        self._on_source()
        self.update_code()

    def __repr__(self) -> str:
        return f"PipeWizard({self.source.value!r} -> {self.instance.value!r})"

    # Building.
    def _make_source(self, draft: PipeDraft) -> None:
        options = _sources()
        self.source = w.Dropdown(
            description="source",
            options=options,
            value=draft.source if draft.source in options else options[0],
        )
        types = [t for t in connector_types() if t in FETCH_KEYS]
        self.new_type = w.Dropdown(
            description="type", options=types, value="sql" if "sql" in types else types[0]
        )
        self.new_label = w.Text(description="label", placeholder="src")
        self.new_uri = w.Password(description="URI", placeholder="postgresql://user:pass@host/db")
        self.define_button = w.Button(description="Define", icon="plus")
        self.new_box = w.HBox([self.new_type, self.new_label, self.new_uri, self.define_button])

    def _make_fetch(self, draft: PipeDraft) -> None:
        self.start_from = w.Dropdown(description="start from", options=[("", "")], value="")
        self.fetch = w.Textarea(description="fetch", value=draft.fetch, layout=w.Layout(width="90%"))
        self.preview_button = w.Button(description="Preview", icon="eye")
        self.preview = w.HTML()

    def _make_columns(self) -> None:
        self.datetime_column = w.Dropdown(description="datetime", options=[("", "")], value="")
        self.id_columns = w.SelectMultiple(description="ids", options=[])

    def _make_pipe(self, draft: PipeDraft) -> None:
        self.metric = w.Text(description="metric", value=draft.metric, placeholder="temperature")
        self.location = w.Text(description="location", value=draft.location, placeholder="(none)")
        self.instance = w.Dropdown(
            description="instance", options=_instances(draft.instance), value=draft.instance
        )

    def _make_confirm(self) -> None:
        self.code = w.HTML()
        self.register_button = w.Button(description="Register and sync…", button_style="success")
        self.confirm_button = w.Button(description="Yes, register and sync", button_style="danger")
        self.cancel_button = w.Button(description="Cancel")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="batches")
        self.status = w.HTML()
        for hidden in (self.confirm_button, self.cancel_button, self.progress, self.new_box):
            hidden.layout.display = _HIDDEN

    def _sections(self) -> list[w.Widget]:
        buttons = w.HBox([self.register_button, self.confirm_button, self.cancel_button, self.progress])
        return [
            _heading("1. Source"),
            self.source,
            self.new_box,
            _heading("2. What to read"),
            self.start_from,
            self.fetch,
            self.preview_button,
            self.preview,
            _heading("3. Columns"),
            w.HBox([self.datetime_column, self.id_columns]),
            _heading("4. Pipe"),
            w.HBox([self.metric, self.location, self.instance]),
            self.code,
            buttons,
            self.status,
        ]

    def _wire(self) -> None:
        self.source.observe(lambda _: self._on_source(), names="value")
        self.start_from.observe(lambda _: self._on_start_from(), names="value")
        self.datetime_column.observe(lambda _: self._on_datetime(), names="value")
        for field in (self.fetch, self.id_columns, self.metric, self.location, self.instance):
            field.observe(lambda _: self.update_code(), names="value")
        self.define_button.on_click(lambda _: self.define_source())
        self.preview_button.on_click(lambda _: self.show_preview())
        self.register_button.on_click(lambda _: self.ask_register())
        self.confirm_button.on_click(lambda _: self.confirm_register())
        self.cancel_button.on_click(lambda _: self.cancel_register())

    # State.
    @property
    def draft(self) -> PipeDraft:
        source = "" if self.source.value == NEW_CONNECTOR else self.source.value
        return PipeDraft(
            source=source,
            fetch=self.fetch.value,
            metric=self.metric.value,
            location=self.location.value,
            instance=self.instance.value,
            datetime_column=self.datetime_column.value,
            id_columns=tuple(self.id_columns.value),
        )

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.value = status_html(text, error=error)

    def update_code(self) -> None:
        """Show the pipe as one line of Python (or what is still missing)."""
        try:
            self.code.value = f'<code style="user-select:all">{escape(self.draft.python())}</code>'
        except MrsmError as exc:
            self.code.value = f"<i>{escape(str(exc))}</i>"

    # 1. Source.
    def _on_source(self) -> None:
        new = self.source.value == NEW_CONNECTOR
        self.new_box.layout.display = _SHOWN if new else _HIDDEN
        typ = self.new_type.value if new else str(self.source.value).split(":", 1)[0]
        self.fetch.placeholder = _PLACEHOLDERS.get(typ, "")
        choices: dict[str, str] = {}
        if not new:
            try:
                choices = fetch_choices(self.source.value)
            except MrsmError as exc:
                self._say(one_line(exc), error=True)
        self.start_from.options = [("", ""), *choices.items()]
        self.update_code()

    def define_source(self) -> None:
        """Define the typed connector for this kernel and pick it as the source."""
        keys = f"{self.new_type.value}:{self.new_label.value.strip().lower()}"
        try:
            define_connector(keys, self.new_uri.value.strip())
        except MrsmError as exc:
            self._say(one_line(exc), error=True)
            return
        self.source.options = _sources()
        self.source.value = keys
        self._say(f"Defined {keys} for this kernel (MRSM_{keys.replace(':', '_').upper()}).")

    # 2. What to read.
    def _on_start_from(self) -> None:
        if self.start_from.value:
            self.fetch.value = self.start_from.value

    def show_preview(self) -> None:
        """Read the first rows, show them with their inferred types, offer their columns."""
        try:
            table = preview_fetch(self.draft.pipe(preview=True), PREVIEW_ROWS)
        except MrsmError as exc:
            self.preview.value = ""
            self._say(one_line(exc), error=True)
            return
        self.inferred = infer_dtypes(table)
        rows = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
        headers = [f"{name} ({dtype})" for name, dtype in self.inferred.items()]
        self.preview.value = html_table(f"First {len(rows)} rows", headers, rows)
        self._offer_columns()
        self._say("")

    def _offer_columns(self) -> None:
        labels = [(f"{name} ({dtype})", name) for name, dtype in self.inferred.items()]
        timely = [label for label in labels if self.inferred[label[1]] in _TIME_DTYPES]
        self.datetime_column.options = [*timely, *(x for x in labels if x not in timely), ("(none)", "")]
        self.datetime_column.value = timely[0][1] if timely else ""
        self._on_datetime()

    # 3. Columns.
    def _on_datetime(self) -> None:
        chosen = [c for c in self.id_columns.value if c != self.datetime_column.value]
        self.id_columns.options = [
            (f"{name} ({dtype})", name)
            for name, dtype in self.inferred.items()
            if name != self.datetime_column.value
        ]
        self.id_columns.value = tuple(chosen)
        self.update_code()

    # 5. Register and sync, after a confirmation.
    def ask_register(self) -> None:
        try:
            code = self.draft.python()
            self.draft.pipe()
        except MrsmError as exc:
            self._say(one_line(exc), error=True)
            return
        self._say(f"Register {code} on {self.instance.value} and run its first sync?")
        for button in (self.confirm_button, self.cancel_button):
            button.layout.display = _SHOWN

    def cancel_register(self) -> None:
        for button in (self.confirm_button, self.cancel_button):
            button.layout.display = _HIDDEN
        self._say("Nothing was registered.")

    def _count_batches(self, batches: Iterable[Any], pipe: Pipe) -> Iterator[Any]:
        return count_batches(self.progress, batches)

    def confirm_register(self) -> None:
        for button in (self.confirm_button, self.cancel_button):
            button.layout.display = _HIDDEN
        self.progress.layout.display = _SHOWN
        self.register_button.disabled = True
        try:
            self.pipe, self.result = register_and_sync(self.draft, wrap=self._count_batches)
        except MrsmError as exc:
            self._say(one_line(exc), error=True)
            return
        finally:
            self.register_button.disabled = self.pipe is not None
        self._say(f"Registered. {self.result.message}")
        if self.on_registered is not None:
            self.on_registered(self.pipe)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
