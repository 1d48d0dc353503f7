"""``verify pipes``: compare each selected pipe with its source and re-sync what changed."""

from __future__ import annotations

from collections.abc import Sequence

from mrsm_jupyter.actions.errors import ActionArgumentError
from mrsm_jupyter.actions.fetchers import fetcher_for
from mrsm_jupyter.actions.grammar import ActionRequest
from mrsm_jupyter.actions.outcome import ActionOutcome, Table
from mrsm_jupyter.actions.registry import ActionContext
from mrsm_jupyter.actions.selection import each_pipe, selected_pipes
from mrsm_jupyter.pipes.fetch import order_by_dependencies
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.verify import VerifyResult, verify_pipe


def verify_results_table(caption: str, results: Sequence[VerifyResult]) -> Table:
    """One row per pipe: chunks checked and changed, parts re-synced, rows and bytes moved."""
    rows = tuple(
        (
            r.pipe,
            f"{r.chunks:,}",
            f"{r.chunks_changed:,}",
            f"{r.parts:,}",
            f"{r.inserted:,}",
            f"{r.updated:,}",
            f"{r.deleted:,}",
            f"{r.bytes_moved:,}",
            f"{r.duration:.3f}",
        )
        for r in results
    )
    headers = ("pipe", "chunks", "changed", "parts", "inserted", "updated", "deleted", "bytes", "seconds")
    return Table(caption, headers, rows, numeric=frozenset(range(1, len(headers))))


def verify_pipes(request: ActionRequest, context: ActionContext) -> ActionOutcome:
    """Find past rows in ``[--begin, --end)`` that changed at each selected pipe's source and
    re-sync only them (rows the source deleted go too when the pipe's ``verify.deletes`` is on)."""
    if request.params:
        raise ActionArgumentError("verify pipes does not take --params; select pipes with -c, -m, -l and -t.")
    # Pipes whose definitions read other pipes are verified after them.
    pipes = order_by_dependencies(selected_pipes(request, context))

    def verify(pipe: Pipe) -> VerifyResult:
        fetch = fetcher_for(pipe)  # a %%pipe cell's fetch, when this kernel defined one
        return verify_pipe(pipe, request.begin, request.end, progress=context.progress, fetch=fetch)

    done, failures = each_pipe(pipes, verify)
    results = [result for _, result in done]
    message = (
        f"Verify pipes: {len(results)} of {len(pipes)} pipe(s); "
        f"{sum(r.chunks for r in results):,} chunk(s) checked, {sum(r.parts for r in results):,} "
        f"part(s) re-synced; inserted {sum(r.inserted for r in results):,}, updated "
        f"{sum(r.updated for r in results):,}, deleted {sum(r.deleted for r in results):,} rows."
    )
    table = verify_results_table("Verify pipes", results)
    return ActionOutcome(
        request.words, message, tables=[table], pipes=pipes, results=results, failures=failures
    )
