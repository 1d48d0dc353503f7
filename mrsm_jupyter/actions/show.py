"""``show pipes | connectors | columns | rowcounts | data | version``: read-only actions."""

from __future__ import annotations

import platform
from importlib import metadata

import pandas as pd

from mrsm_jupyter.actions.grammar import ActionRequest
from mrsm_jupyter.actions.outcome import ActionOutcome, Table
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.actions.selection import each_pipe, instance_keys, matching_pipes, selected_pipes
from mrsm_jupyter.config import connector_attributes
from mrsm_jupyter.jupyter.server.secrets import redact_attributes, redact_uri
from mrsm_jupyter.pipes.pipe import Pipe

# Built-in connectors that need no definition.
_BUILTIN_CONNECTORS = {
    "sql:local": "duckdb file in the root directory",
    "sql:memory": "duckdb in memory",
}
_VERSION_PACKAGES = ("mrsm_jupyter", "duckdb", "sqlalchemy", "pyarrow", "pandas", "ipython", "ipywidgets")


def _location(pipe: Pipe) -> str:
    return "" if pipe.location_key is None else pipe.location_key


def show_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Registered pipes matching the keys, one row each."""
    pipes = matching_pipes(request, context)
    instance = instance_keys(request, context)
    rows = tuple((p.connector_keys, p.metric_key, _location(p), ", ".join(p.tags)) for p in pipes)
    table = Table(f"Pipes on {instance}", ("connector", "metric", "location", "tags"), rows)
    message = f"{len(pipes)} pipe(s) on {instance} match {request.keys_text}."
    return ActionOutcome("show pipes", message, tables=[table], pipes=pipes)


def _describe(attributes: dict[str, object]) -> str:
    # The REST API's redaction: passwords and secret query parameters (an api: URI's token).
    if "uri" in attributes:
        return redact_uri(str(attributes["uri"]))
    shown = redact_attributes(attributes)
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


def show_connectors(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Built-in and configured connectors (config file and ``MRSM_<TYPE>_<LABEL>``), passwords hidden."""
    described = dict(_BUILTIN_CONNECTORS)
    described.update({keys: _describe(attrs) for keys, attrs in connector_attributes().items()})
    wanted = request.connector_keys
    rows = tuple((keys, text) for keys, text in sorted(described.items()) if not wanted or keys in wanted)
    table = Table("Connectors", ("keys", "definition"), rows)
    return ActionOutcome("show connectors", f"{len(rows)} connector(s).", tables=[table])


def _column_rows(pipe: Pipe) -> list[tuple[str, ...]]:
    roles = {column: role for role, column in pipe.columns.items()}
    return [(str(pipe), name, dtype, roles.get(name, "")) for name, dtype in pipe.get_columns_types().items()]


def show_columns(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Each pipe's table columns with their types and roles (datetime, id, value, ...)."""
    pipes = selected_pipes(request, context)
    per_pipe, failures = each_pipe(pipes, _column_rows)
    rows = tuple(row for _, rows in per_pipe for row in rows)
    table = Table("Columns", ("pipe", "column", "type", "role"), rows)
    message = f"Columns of {len(pipes) - len(failures)} pipe(s)."
    return ActionOutcome("show columns", message, tables=[table], pipes=pipes, failures=failures)


def show_rowcounts(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Rows per pipe in ``[--begin, --end)`` matching ``--params``."""
    pipes = selected_pipes(request, context)

    def count(pipe: Pipe) -> int:
        return pipe.get_rowcount(begin=request.begin, end=request.end, params=request.params)

    counts, failures = each_pipe(pipes, count)
    total = sum(n for _, n in counts)
    rows = (*((str(pipe), f"{n:,}") for pipe, n in counts), ("total", f"{total:,}"))
    table = Table("Row counts", ("pipe", "rows"), rows, numeric=frozenset({1}))
    message = f"{total:,} rows in {len(counts)} pipe(s)."
    return ActionOutcome("show rowcounts", message, tables=[table], pipes=pipes, failures=failures)


def show_data(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """The newest rows of each pipe in the window (``--limit``, else the shell's row limit)."""
    pipes = selected_pipes(request, context)
    limit = request.limit or context.row_limit

    def newest_rows(pipe: Pipe) -> pd.DataFrame:
        frame = pipe.get_data(
            begin=request.begin, end=request.end, params=request.params, order="desc", limit=limit
        )
        assert isinstance(frame, pd.DataFrame)
        # Read newest first so the limit keeps the latest rows; show them oldest first.
        return frame.iloc[::-1].reset_index(drop=True)

    frames, failures = each_pipe(pipes, newest_rows)
    by_pipe = {str(pipe): frame for pipe, frame in frames}
    message = f"Newest {limit} rows of {len(by_pipe)} pipe(s)."
    return ActionOutcome("show data", message, pipes=pipes, frames=by_pipe, failures=failures)


def show_version(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Versions of mrsm_jupyter, Python and the libraries it stands on."""
    rows = [("python", platform.python_version())]
    for package in _VERSION_PACKAGES:
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    table = Table("Versions", ("package", "version"), tuple(rows))
    return ActionOutcome("show version", f"mrsm_jupyter {metadata.version('mrsm_jupyter')}", tables=[table])
