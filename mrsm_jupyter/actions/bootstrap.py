"""``bootstrap pipes``: a new pipe, step by step (source, fetch, columns, instance), in a notebook.

In ``%mrsm`` the outcome carries the wizard (:class:`~mrsm_jupyter.jupyter.widgets.pipe_wizard.PipeWizard`);
on a terminal it says how to do the same in a notebook or in Python. :class:`PipeDraft` is what
the wizard holds: nothing is registered until :func:`register_and_sync` is called.

>>> draft = PipeDraft(source="sql:src", fetch="SELECT * FROM t", metric="temp", datetime_column="ts")
>>> draft.python()  # doctest: +ELLIPSIS
"Pipe('sql:src', 'temp', instance='sql:local', columns={'datetime': 'ts'}, parameters=...)"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mrsm_jupyter.actions.errors import ActionArgumentError
from mrsm_jupyter.actions.grammar import ActionRequest
from mrsm_jupyter.actions.outcome import ActionOutcome
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.actions.sync import BatchWrapper, sync_pipe
from mrsm_jupyter.connectors.registry import DEFAULT_INSTANCE, get_connector
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.result import SyncResult

# Where each source type reads its fetch text from (the SQL connector's definition, the
# InfluxDB connector's measurement).
FETCH_KEYS = {"sql": "definition", "influxdb": "measurement"}
# The metric a draft's pipe has before one is chosen (previews need a pipe).
PREVIEW_METRIC = "preview"
TERMINAL_MESSAGE = (
    "The pipe wizard needs a notebook: run `%mrsm bootstrap pipe` in a Jupyter cell. "
    "Without one, register and sync in Python: "
    "Pipe('sql:src', 'metric', columns={'datetime': 'ts'}, "
    "parameters={'fetch': {'definition': 'SELECT ...'}}).sync()."
)


@dataclass(frozen=True)
class PipeDraft:
    """A pipe being defined: every field as typed, checked when a pipe is made of it."""

    source: str = ""
    fetch: str = ""
    metric: str = ""
    location: str = ""
    instance: str = DEFAULT_INSTANCE
    datetime_column: str = ""
    id_columns: tuple[str, ...] = ()

    def fetch_parameters(self) -> dict[str, Any]:
        typ = self.source.split(":", 1)[0]
        if typ not in FETCH_KEYS:
            raise ActionArgumentError(
                f"{self.source or 'No connector'} cannot be a wizard's source; "
                f"pick a connector of type {' or '.join(FETCH_KEYS)}."
            )
        if not self.fetch.strip():
            raise ActionArgumentError(f"Write what to read from {self.source} (its {FETCH_KEYS[typ]}).")
        return {FETCH_KEYS[typ]: self.fetch.strip()}

    def columns(self) -> dict[str, str]:
        """Column roles: the datetime column, then ``id``, ``id1``... for the id columns."""
        roles = {"datetime": self.datetime_column} if self.datetime_column else {}
        roles.update({f"id{i}" if i else "id": c for i, c in enumerate(self.id_columns)})
        return roles

    def pipe(self, *, preview: bool = False) -> Pipe:
        """The pipe this draft defines (a metric is needed unless it is for a preview)."""
        metric = self.metric.strip() or (PREVIEW_METRIC if preview else "")
        if not metric:
            raise ActionArgumentError("Name the pipe's metric, e.g. temperature.")
        return Pipe(
            self.source,
            metric,
            self.location.strip() or None,
            instance=self.instance,
            columns=self.columns(),
            parameters={"fetch": self.fetch_parameters()},
        )

    def python(self) -> str:
        """The same pipe as one line of Python."""
        keys = [repr(self.source), repr(self.metric.strip())]
        if self.location.strip():
            keys.append(repr(self.location.strip()))
        return (
            f"Pipe({', '.join(keys)}, instance={self.instance!r}, columns={self.columns()!r}, "
            f"parameters={{'fetch': {self.fetch_parameters()!r}}})"
        )


def fetch_choices(source: str) -> dict[str, str]:
    """Ready-made fetch texts the source suggests, by label (its measurements, its pipes...)."""
    suggest = getattr(get_connector(source), "fetch_suggestions", None)
    return {} if suggest is None else dict(suggest())


def register_and_sync(draft: PipeDraft, wrap: BatchWrapper | None = None) -> tuple[Pipe, SyncResult]:
    """Register the draft's pipe (refusing one that exists) and run its first sync; a pipe
    whose first sync fails is deleted again, so that fixing the draft and retrying works."""
    pipe = draft.pipe()
    if pipe.is_registered:
        raise ActionArgumentError(f"{pipe} is already registered; pick another metric or location.")
    pipe.register()
    try:
        return pipe, sync_pipe(pipe, wrap=wrap)
    except MrsmError:
        pipe.delete()
        raise


def bootstrap_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Open the pipe wizard (prefilled from -c, -m, -l and -i) where widgets can be shown."""
    if not context.widgets:
        return ActionOutcome("bootstrap pipes", TERMINAL_MESSAGE)
    from mrsm_jupyter.jupyter.widgets.pipe_wizard import PipeWizard  # noqa: PLC0415 (ipywidgets)

    draft = PipeDraft(
        source=next(iter(request.connector_keys), ""),
        metric=next(iter(request.metric_keys), ""),
        location=next(iter(request.location_keys), ""),
        instance=request.instance or context.instance or DEFAULT_INSTANCE,
    )
    message = (
        "Fill in the pipe wizard (shown where the frontend renders widgets); "
        "nothing is registered until you confirm."
    )
    return ActionOutcome("bootstrap pipes", message, widget=PipeWizard(draft))
