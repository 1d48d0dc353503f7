"""Which pipes an action works on, and running a step over each of them.

One failing pipe does not stop the others (as in Meerschaum); its error is kept in the
outcome with the pipe's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from mrsm_jupyter.actions.errors import ConfirmationError, NoPipesError
from mrsm_jupyter.actions.grammar import ActionRequest
from mrsm_jupyter.actions.outcome import PipeFailure
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.connectors.registry import DEFAULT_INSTANCE
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.pipes.listing import get_pipes
from mrsm_jupyter.pipes.pipe import Pipe

T = TypeVar("T")


def instance_keys(request: ActionRequest, context: ActionContext) -> str:
    """``-i`` wins over the shell's default, which wins over the engine's."""
    return request.instance or context.instance or DEFAULT_INSTANCE


def matching_pipes(request: ActionRequest, context: ActionContext) -> list[Pipe]:
    """Registered pipes matching the request's keys and tags (possibly none)."""
    found = get_pipes(
        request.connector_keys or None,
        request.metric_keys or None,
        request.location_keys or None,
        tags=request.tags or None,
        instance=instance_keys(request, context),
        as_list=True,
    )
    assert isinstance(found, list)
    return found


def selected_pipes(request: ActionRequest, context: ActionContext) -> list[Pipe]:
    """Like :func:`matching_pipes`, but an empty selection is an error naming the keys."""
    pipes = matching_pipes(request, context)
    if not pipes:
        raise NoPipesError(
            f"{request.words}: no registered pipes match {request.keys_text} on "
            f"{instance_keys(request, context)}. See `show pipes`, or register one with "
            "`register pipes -c CONNECTOR -m METRIC`."
        )
    return pipes


def confirm_each(request: ActionRequest, context: ActionContext, verb: str, pipes: list[Pipe]) -> None:
    """Ask once before a destructive action (unless ``-y``); a "no" stops it."""
    if request.yes:
        return
    names = ", ".join(str(p) for p in pipes[:3]) + (f" and {len(pipes) - 3} more" if len(pipes) > 3 else "")
    if not context.confirm(f"{verb} {len(pipes)} pipe(s): {names}?"):
        raise ConfirmationError(f"{request.words}: cancelled; nothing was changed.")


def each_pipe(
    pipes: Iterable[Pipe], step: Callable[[Pipe], T]
) -> tuple[list[tuple[Pipe, T]], list[PipeFailure]]:
    """Run ``step`` on every pipe, collecting ``(pipe, result)`` pairs and failures."""
    results: list[tuple[Pipe, T]] = []
    failures: list[PipeFailure] = []
    for pipe in pipes:
        try:
            results.append((pipe, step(pipe)))
        except MrsmError as exc:
            failures.append(PipeFailure(str(pipe), exc))
    return results, failures
