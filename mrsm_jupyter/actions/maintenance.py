"""``register | edit | clear | drop | delete | deduplicate pipes``: changing pipes and their rows."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from mrsm_jupyter.actions.errors import ActionArgumentError
from mrsm_jupyter.actions.grammar import ActionRequest
from mrsm_jupyter.actions.outcome import ActionOutcome, action_results_table
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.actions.selection import confirm_each, each_pipe, instance_keys, selected_pipes
from mrsm_jupyter.pipes.keys import NEGATION_PREFIX
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.result import ActionResult


def _outcome(
    request: ActionRequest, pipes: list[Pipe], verb: str, step: Callable[[Pipe], ActionResult]
) -> ActionOutcome:
    done, failures = each_pipe(pipes, step)
    results = [result for _, result in done]
    table = action_results_table(request.words.capitalize(), results)
    message = f"{verb} {len(results)} of {len(pipes)} pipe(s)."
    return ActionOutcome(
        request.words, message, tables=[table], pipes=pipes, results=results, failures=failures
    )


def _new_pipe_keys(request: ActionRequest) -> list[tuple[str, str, str | None]]:
    """Every combination of the given keys; registering needs them spelled out, not negated."""
    if not request.connector_keys or not request.metric_keys:
        raise ActionArgumentError(
            "register pipes needs connector and metric keys, e.g. `register pipes -c sql:src -m temperature`."
        )
    given = [*request.connector_keys, *request.metric_keys, *request.location_keys]
    negated = [k for k in given if k.startswith(NEGATION_PREFIX)]
    if negated:
        raise ActionArgumentError(
            f"register pipes cannot register a negated key {negated[0]!r}; drop the '_'."
        )
    locations: list[str | None] = list(request.location_keys) or [None]
    return list(itertools.product(request.connector_keys, request.metric_keys, locations))


def register_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Register the pipes named by ``-c``, ``-m`` (and ``-l``), with ``--params`` and ``-t`` tags."""
    instance = instance_keys(request, context)
    pipes = [
        Pipe(c, m, loc, instance=instance, parameters=request.params, tags=request.tags or None)
        for c, m, loc in _new_pipe_keys(request)
    ]

    def register(pipe: Pipe) -> ActionResult:
        if pipe.is_registered:
            return ActionResult(str(pipe), "already registered; parameters unchanged (use `edit pipes`)")
        return pipe.register()

    return _outcome(request, pipes, "Registered", register)


def merge_parameters(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys are replaced, except mappings, which are updated one level deep.

    >>> merge_parameters({"columns": {"datetime": "dt"}, "tags": ["a"]}, {"columns": {"id": "s"}, "tags": []})
    {'columns': {'datetime': 'dt', 'id': 's'}, 'tags': []}
    """
    merged = dict(current)
    for key, value in changes.items():
        old = merged.get(key)
        merged[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def edit_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Merge ``--params`` into each selected pipe's parameters and save them."""
    if not request.params:
        raise ActionArgumentError(
            "edit pipes needs --params with the changes, "
            """e.g. `edit pipes -m temperature --params '{"tags": ["x"]}'`."""
        )
    changes = request.params
    pipes = selected_pipes(request, context)

    def edit(pipe: Pipe) -> ActionResult:
        pipe.parameters = merge_parameters(pipe.parameters, changes)
        return pipe.edit()

    return _outcome(request, pipes, "Edited", edit)


def clear_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Delete rows in ``[--begin, --end)`` matching ``--params``; asks first unless ``-y``."""
    pipes = selected_pipes(request, context)
    window = f"[{request.begin or '-inf'}, {request.end or 'inf'})"
    confirm_each(request, context, f"Delete rows in {window} from", pipes)
    return _outcome(
        request,
        pipes,
        "Cleared",
        lambda pipe: pipe.clear(begin=request.begin, end=request.end, params=request.params),
    )


def drop_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Drop the pipes' tables, keeping their registrations; asks first unless ``-y``."""
    pipes = selected_pipes(request, context)
    confirm_each(request, context, "Drop the tables of", pipes)
    return _outcome(request, pipes, "Dropped", Pipe.drop)


def delete_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Drop the pipes' tables and remove their registrations; asks first unless ``-y``."""
    pipes = selected_pipes(request, context)
    confirm_each(request, context, "Delete (table and registration)", pipes)
    return _outcome(request, pipes, "Deleted", Pipe.delete)


def deduplicate_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Remove rows whose keys repeat, keeping one of each."""
    return _outcome(request, selected_pipes(request, context), "Deduplicated", Pipe.deduplicate)
