"""What a ``%%pipe`` cell does: define (or update) a pipe from SQL or Python, then sync it.

A SQL ``SELECT`` over a ``sql:<label>`` connector becomes the pipe's fetch definition
(``parameters['fetch']['definition']``); the engine runs it and resolves its
``{{ Pipe(...) }}`` references to those pipes' tables. Python code must define
``fetch(pipe, begin, end)``; it is kept in this process and called on every sync.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mrsm_jupyter.actions.errors import ActionArgumentError
from mrsm_jupyter.actions.fetchers import Fetcher, forget_fetcher, register_fetcher
from mrsm_jupyter.actions.maintenance import merge_parameters
from mrsm_jupyter.actions.sync import BatchWrapper, sync_pipe
from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.pipes.fetch import pipe_references
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.result import SyncResult

# Short names accepted in ``--columns`` for Meerschaum's column roles.
COLUMN_ALIASES = {"dt": "datetime", "ts": "datetime", "time": "datetime"}
_SELECT = re.compile(r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(select|with)\b", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class PipeCell:
    """The arguments of one ``%%pipe`` cell and its body."""

    connector_keys: str
    metric_key: str
    location_key: str | None
    instance: str | None
    columns: dict[str, str]
    sync: bool
    body: str


@dataclass(frozen=True)
class PipeCellResult:
    pipe: Pipe
    sync_result: SyncResult | None


def parse_columns(text: str | None) -> dict[str, str]:
    """``"dt=ts,id=station"`` -> ``{"datetime": "ts", "id": "station"}``.

    >>> parse_columns("dt=ts, id=station, value=temp")
    {'datetime': 'ts', 'id': 'station', 'value': 'temp'}
    """
    columns: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        role, sep, column = (part.strip() for part in item.partition("="))
        if not sep or not role or not column:
            raise ActionArgumentError(
                f"--columns item {item.strip()!r} must look like role=column, "
                "e.g. --columns dt=ts,id=station."
            )
        columns[COLUMN_ALIASES.get(role, role)] = column
    return columns


def is_select(body: str) -> bool:
    """Whether the body is a SQL query (``SELECT`` or ``WITH``, after comments)."""
    return bool(_SELECT.match(body))


def define_fetch(body: str, namespace: Mapping[str, Any]) -> Fetcher:
    """Run the cell's Python and return the ``fetch`` it defines.

    The code runs in a copy of the user's namespace: it sees their variables and imports,
    and its own names (helpers, imports) stay with the function instead of leaking out.
    """
    scope = dict(namespace)
    exec(compile(body, "<%%pipe cell>", "exec"), scope)  # the user's own cell, run as a cell would be
    fetch = scope.get("fetch")
    if not callable(fetch) or fetch is namespace.get("fetch"):
        raise ActionArgumentError(
            "The %%pipe cell must define fetch(pipe, begin, end) returning rows (or a SQL SELECT "
            "when the connector is sql:<label>)."
        )
    return fetch  # type: ignore[no-any-return]


def _save(pipe: Pipe, changes: dict[str, Any]) -> None:
    """Register the pipe with the changes, or merge them into its registration."""
    registered = pipe.is_registered
    pipe.parameters = merge_parameters(pipe.parameters, changes)
    if registered:
        pipe.edit()
    else:
        pipe.register()


def _sql_changes(cell: PipeCell) -> dict[str, Any]:
    if not cell.connector_keys.startswith("sql:"):
        raise ActionArgumentError(
            f"%%pipe {cell.connector_keys} {cell.metric_key}: a SQL body needs a sql:<label> connector; "
            "for other sources write fetch(pipe, begin, end) in Python."
        )
    get_connector(cell.connector_keys)  # fail now, with "did you mean", if it is not defined
    definition = cell.body.strip()
    pipe_references(definition)  # fail now if a {{ Pipe(...) }} reference cannot be read
    return {"fetch": {"definition": definition}}


def run_pipe_cell(cell: PipeCell, namespace: Mapping[str, Any], wrap: BatchWrapper | None) -> PipeCellResult:
    """Register (or update) the cell's pipe, then sync it unless ``--no-sync``."""
    pipe = Pipe(cell.connector_keys, cell.metric_key, cell.location_key, instance=cell.instance)
    changes: dict[str, Any] = {"columns": cell.columns} if cell.columns else {}
    if is_select(cell.body):
        changes.update(_sql_changes(cell))
        # A fetch from an earlier Python version of this cell must not shadow the definition.
        forget_fetcher(pipe)
    else:
        register_fetcher(pipe, define_fetch(cell.body, namespace))
    _save(pipe, changes)
    return PipeCellResult(pipe, sync_pipe(pipe, wrap=wrap) if cell.sync else None)
