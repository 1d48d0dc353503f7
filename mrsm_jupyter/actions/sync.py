"""``sync pipes`` and ``copy pipes``, with progress bars per pipe and per batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tqdm.auto import tqdm

from mrsm_jupyter.actions.errors import ActionArgumentError
from mrsm_jupyter.actions.fetchers import fetcher_for
from mrsm_jupyter.actions.grammar import ActionRequest, TimeArg
from mrsm_jupyter.actions.outcome import ActionOutcome, sync_results_table
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.actions.selection import each_pipe, selected_pipes
from mrsm_jupyter.diagnostics.recording import recorded
from mrsm_jupyter.pipes.bounds import Bound, Window, backtrack_begin
from mrsm_jupyter.pipes.fetch import order_by_dependencies
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.result import SyncResult

# Wraps the batches of one sync, e.g. in a progress bar; must yield every batch unchanged.
BatchWrapper = Callable[[Iterable[Any], Pipe], Iterable[Any]]


def fetch_window(pipe: Pipe, begin: TimeArg, end: TimeArg) -> tuple[Bound, Bound]:
    """The ``[begin, end)`` to fetch: by default from the newest sync time minus the backtrack."""
    window = Window.of(begin, end)
    if window.begin is not None:
        return window.begin, window.end
    return backtrack_begin(pipe.get_sync_time(), pipe.backtrack_minutes), window.end


def _as_batches(fetched: Any) -> Iterable[Any]:
    """A fetch may return one batch or an iterator of batches; always give batches."""
    if fetched is None:
        return []
    if isinstance(fetched, Iterator):
        return fetched
    return [fetched]


def fetch_batches(pipe: Pipe, begin: TimeArg, end: TimeArg) -> Iterable[Any]:
    """New rows for the pipe: from its fetcher in this process if it has one (a ``%%pipe``
    cell's ``fetch``), else from its source connector through the engine."""
    fetch = fetcher_for(pipe)
    if fetch is None:
        return _as_batches(pipe.fetch(begin=begin, end=end))
    fetch_begin, fetch_end = fetch_window(pipe, begin, end)
    return _as_batches(fetch(pipe, fetch_begin, fetch_end))


@recorded("sync")
def sync_pipe(
    pipe: Pipe, *, begin: TimeArg = None, end: TimeArg = None, wrap: BatchWrapper | None = None
) -> SyncResult:
    """Fetch the pipe's new rows in ``[begin, end)`` and merge them batch by batch."""
    batches = fetch_batches(pipe, begin, end)
    if wrap is not None:
        batches = wrap(batches, pipe)
    result = SyncResult(str(pipe))
    # One batch at a time so each gets its own transaction and the bar moves per batch.
    for batch in batches:
        result.add(pipe.sync(batch))
    return result


def batch_bar(batches: Iterable[Any], pipe: Pipe) -> Iterable[Any]:
    """A progress bar over one pipe's batches (in a notebook, a widget bar)."""
    return tqdm(batches, desc=str(pipe), unit="batch", leave=False)


def _pipes_bar(pipes: list[Pipe], action: str, progress: bool) -> Iterator[Pipe]:
    if not progress:
        yield from pipes
        return
    with tqdm(total=len(pipes), desc=action, unit="pipe") as bar:
        for pipe in pipes:
            yield pipe
            bar.update(1)


def _sync_outcome(
    request: ActionRequest, pipes: list[Pipe], progress: bool, step: Callable[[Pipe], SyncResult]
) -> ActionOutcome:
    done, failures = each_pipe(_pipes_bar(pipes, request.words, progress), step)
    results = [result for _, result in done]
    totals = SyncResult("total")
    for result in results:
        totals.add(result)
    message = (
        f"{request.words.capitalize()}: {len(results)} of {len(pipes)} pipe(s); "
        f"inserted {totals.inserted:,}, updated {totals.updated:,}, unchanged {totals.unchanged:,} rows."
    )
    table = sync_results_table(request.words.capitalize(), results)
    return ActionOutcome(
        request.words, message, tables=[table], pipes=pipes, results=results, failures=failures
    )


def sync_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Fetch new rows in ``[--begin, --end)`` for each selected pipe and merge them."""
    if request.params:
        # Fetches read whole windows; a filter would be silently ignored.
        raise ActionArgumentError("sync pipes does not take --params; select pipes with -c, -m, -l and -t.")
    # Pipes whose definitions read other pipes sync after them.
    pipes = order_by_dependencies(selected_pipes(request, context))
    wrap = batch_bar if context.progress else None
    return _sync_outcome(
        request,
        pipes,
        context.progress,
        lambda pipe: sync_pipe(pipe, begin=request.begin, end=request.end, wrap=wrap),
    )


def copy_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Copy each selected pipe (registration and rows in the window) to ``--to-instance``."""
    destination = request.to_instance
    if not destination:
        raise ActionArgumentError(
            "copy pipes needs a destination, e.g. `copy pipes -m temperature --to-instance sql:backup`."
        )
    pipes = selected_pipes(request, context)
    if any(p.instance_keys == destination for p in pipes):
        raise ActionArgumentError(f"copy pipes: --to-instance {destination} is the pipes' own instance.")
    return _sync_outcome(
        request,
        pipes,
        context.progress,
        lambda pipe: pipe.copy_to(destination, begin=request.begin, end=request.end, params=request.params),
    )
