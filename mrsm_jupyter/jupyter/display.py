"""HTML for static outputs (nbconvert, GitHub): pipes, lists of pipes, connectors, action outcomes.

Registered as IPython formatters by ``%load_ext mrsm_jupyter`` so the engine stays free of
Jupyter. Every repr is deterministic: keys, names and numbers, never memory addresses.
Only the standard library is imported here, so loading the extension stays fast; the jobs
widget (``show jobs`` in a kernel) is imported when one is shown.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from mrsm_jupyter.errors import MrsmError

if TYPE_CHECKING:
    from mrsm_jupyter.actions.outcome import ActionOutcome, Table
    from mrsm_jupyter.pipes.pipe import Pipe

PLOTLY_MIME = "application/vnd.plotly.v1+json"
_STYLE = "border-collapse:collapse;font-family:var(--jp-code-font-family,monospace);font-size:0.9em"
_CELL = "padding:2px 8px;text-align:left;border-bottom:1px solid #ddd"


def html_table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain HTML table; every cell is escaped."""
    head = "".join(f'<th style="{_CELL}">{escape(str(h))}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{escape(str(c))}</td>' for c in row) + "</tr>" for row in rows
    )
    cap = f'<caption style="text-align:left;font-weight:bold">{escape(caption)}</caption>' if caption else ""
    return f'<table class="mrsm-table" style="{_STYLE}">{cap}<tr>{head}</tr>{body}</table>'


def _format_time(value: object) -> str:
    if value is None:
        return "no rows"
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _live_facts(pipe: Pipe) -> list[tuple[str, str]]:
    """What the instance knows now; a repr must not fail, so an unreachable one says so."""
    try:
        if not pipe.exists():
            return [("rows", "no table yet")]
        return [("rows", f"{pipe.get_rowcount():,}"), ("newest", _format_time(pipe.get_sync_time()))]
    except MrsmError as exc:
        return [("instance", f"unavailable: {exc}")]


def _registered_facts(pipe: Pipe) -> list[tuple[str, str]]:
    try:
        return [("table", pipe.target), ("tags", ", ".join(pipe.tags)), *_live_facts(pipe)]
    except MrsmError as exc:
        return [("instance", f"unavailable: {exc}")]


def _columns_rows(pipe: Pipe) -> list[tuple[str, str, str]]:
    try:
        roles = {column: role for role, column in pipe.columns.items()}
        types = pipe.get_columns_types()
    except MrsmError:
        roles, types = {}, {}
    names = list(types) or list(roles)
    return [(name, types.get(name, ""), roles.get(name, "")) for name in names]


def pipe_html(pipe: Pipe) -> str:
    """A pipe's keys, instance, table, tags, row count, newest sync time and columns."""
    facts = [
        ("connector", pipe.connector_keys),
        ("metric", pipe.metric_key),
        ("location", pipe.location_key or ""),
        ("instance", pipe.instance_keys),
        *_registered_facts(pipe),
    ]
    summary = html_table("", ("", ""), facts).replace("<tr><th", "<tr hidden><th", 1)
    columns = html_table("columns", ("column", "type", "role"), _columns_rows(pipe))
    return (
        f'<div class="mrsm-pipe"><div style="font-weight:bold">{escape(repr(pipe))}</div>'
        f'<div style="display:flex;gap:2em;align-items:flex-start">{summary}{columns}</div></div>'
    )


def pipes_html(value: Any) -> str | None:
    """A list of pipes as one table; ``None`` (no HTML) for any other list."""
    module = sys.modules.get("mrsm_jupyter.pipes.pipe")
    # No pipe can exist before the engine's module is imported; other lists cost nothing.
    if module is None or not value or not all(isinstance(item, module.Pipe) for item in value):
        return None
    rows = [(p.connector_keys, p.metric_key, p.location_key or "", p.instance_keys) for p in value]
    return html_table(f"{len(rows)} pipes", ("connector", "metric", "location", "instance"), rows)


def connector_html(connector: Any) -> str:
    """A connector by its keys and description (a URI's password is never part of it)."""
    description = getattr(getattr(connector, "db", None), "description", "")
    rows = [("keys", connector.keys), ("type", type(connector).__name__)]
    if description:
        rows.append(("database", description))
    return html_table("", ("", ""), rows).replace("<tr><th", "<tr hidden><th", 1)


def _outcome_table_html(table: Table) -> str:
    return html_table(table.caption, table.headers, table.rows)


def outcome_html(outcome: ActionOutcome) -> str:
    """Tables and frames of an action, then its message and one red line per failed pipe."""
    parts = [_outcome_table_html(t) for t in outcome.tables]
    for name, frame in outcome.frames.items():
        parts.append(f"<div><b>{escape(name)}</b>{frame.to_html(index=False, border=0)}</div>")
    for name, lines in outcome.logs.items():
        log = escape("\n".join(lines))
        parts.append(f'<div><b>{escape(name)}</b><pre class="mrsm-log">{log}</pre></div>')
    if outcome.action == "help":
        parts.append(f"<pre>{escape(outcome.message)}</pre>")
    else:
        parts.append(f"<div>{escape(outcome.message)}</div>")
    parts += [f'<div style="color:#c00">{escape(f.line)}</div>' for f in outcome.failures]
    return f'<div class="mrsm-outcome">{"".join(parts)}</div>'


def frontend_renders_widgets() -> bool:
    """Whether outputs go to a Jupyter frontend that can show widgets (not a terminal IPython)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    has_kernel = getattr(shell, "kernel", None) is not None
    return has_kernel and importlib.util.find_spec("ipywidgets") is not None


def outcome_bundle(outcome: ActionOutcome) -> dict[str, Any] | None:
    """Richer views of some outcomes: a plotly figure, or a widget; None for the rest."""
    if outcome.figure is not None:
        return figure_bundle(outcome.figure)
    return outcome_widget_bundle(outcome)


def figure_bundle(figure: Any) -> dict[str, Any]:
    """A plotly figure as JupyterLab's plotly renderer takes it; the HTML tables stay the fallback."""
    return {PLOTLY_MIME: json.loads(figure.to_json())}


def outcome_widget_bundle(outcome: ActionOutcome) -> dict[str, Any] | None:
    """In a kernel, the view of the widget an outcome carries (the pipe wizard of ``bootstrap
    pipes``), or for ``show jobs`` the live jobs widget; other formats stay as they are.

    The frontend shows the widget when it can and the HTML otherwise (a static export).
    The jobs widget lists every job, including those started after it is shown.
    """
    if not frontend_renders_widgets():
        return None
    if outcome.widget is not None:
        shown: dict[str, Any] = outcome.widget._repr_mimebundle_()
        shown.pop("text/plain", None)
        return shown
    if outcome.action != "show jobs":
        return None
    from mrsm_jupyter.jupyter.widgets.jobs import JobsWidget  # noqa: PLC0415  (ipywidgets is heavy)

    bundle: dict[str, Any] = JobsWidget()._repr_mimebundle_()
    bundle.pop("text/plain", None)  # the outcome's own text stays
    return bundle
