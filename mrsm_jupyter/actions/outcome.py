"""What an action returns: the engine's results plus tables any shell can render.

The command line prints :meth:`ActionOutcome.to_text`; Jupyter renders the same tables as
HTML (``mrsm_jupyter.jupyter.display``). Like the engine's results, an outcome unpacks as
Meerschaum's ``(success, message)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mrsm_jupyter.actions.errors import one_line
from mrsm_jupyter.errors import MrsmError

if TYPE_CHECKING:
    import pandas as pd

    from mrsm_jupyter.jobs.api import Job
    from mrsm_jupyter.pipes.pipe import Pipe
    from mrsm_jupyter.pipes.result import ActionResult, SyncResult


@dataclass(frozen=True)
class Table:
    """Rows of already formatted cells under a caption."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    # Columns to right-align in text (numbers).
    numeric: frozenset[int] = frozenset()

    def to_text(self) -> str:
        """The table as aligned plain text, caption first."""
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                cell.rjust(w) if i in self.numeric else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        rule = "  ".join("-" * w for w in widths)
        body = [line(row) for row in self.rows]
        return "\n".join([self.caption, line(self.headers), rule, *body])


@dataclass(frozen=True)
class PipeFailure:
    """One pipe that failed inside a multi-pipe action; the others went on."""

    pipe: str
    error: MrsmError

    @property
    def line(self) -> str:
        """One line naming the pipe (engine errors already start with its name)."""
        text = one_line(self.error)
        return text if self.pipe in text else f"{self.pipe}: {text}"


@dataclass
class ActionOutcome:
    """The result of one action.

    ``pipes`` are the pipes acted on, ``results`` the engine's per-pipe results (in the same
    order, failed pipes left out), ``frames`` the data read by ``show data``. Actions on
    background jobs give the ``jobs`` acted on and, for ``show logs``, the ``logs`` read (lines
    by job name). ``figure`` is a plotly figure to draw. ``failures`` name the pipe or job
    that failed while the others went on.
    """

    action: str
    message: str
    tables: list[Table] = field(default_factory=list)
    pipes: list[Pipe] = field(default_factory=list)
    results: Sequence[SyncResult | ActionResult] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    failures: list[PipeFailure] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    logs: dict[str, list[str]] = field(default_factory=dict)
    # A widget the action made for its shell to show (``bootstrap pipes`` in ``%mrsm``).
    widget: Any = None
    # A plotly figure (``show diagnostics``); a kernel draws it, a terminal prints the tables.
    figure: Any = None

    @property
    def success(self) -> bool:
        return not self.failures

    def __iter__(self) -> Iterator[bool | str]:
        yield self.success
        yield self.summary

    def __bool__(self) -> bool:
        return self.success

    @property
    def summary(self) -> str:
        """The message, followed by one line per failed pipe."""
        return "\n".join([self.message, *(f.line for f in self.failures)])

    def to_text(self, with_failures: bool = True) -> str:
        """Tables, frames and the summary as plain text (failures last, unless left to stderr)."""
        parts = [table.to_text() for table in self.tables]
        parts += [f"{name}\n{frame.to_string()}" for name, frame in self.frames.items()]
        parts += [f"==> {name} <==\n" + "\n".join(lines) for name, lines in self.logs.items()]
        parts.append(self.summary if with_failures else self.message)
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        state = "success" if self.success else f"{len(self.failures)} failed"
        acted_on = f"{len(self.jobs)} jobs" if self.jobs else f"{len(self.pipes)} pipes"
        return f"<ActionOutcome {self.action!r}: {state}, {acted_on}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())


def action_results_table(caption: str, results: Sequence[ActionResult]) -> Table:
    """One row per pipe: what was done and to how many rows."""
    rows = tuple((r.pipe, r.action, "" if r.rows is None else f"{r.rows:,}") for r in results)
    return Table(caption, ("pipe", "done", "rows"), rows, numeric=frozenset({2}))


def sync_results_table(caption: str, results: Sequence[SyncResult]) -> Table:
    """One row per pipe: rows inserted, updated and unchanged, and how long it took."""
    rows = tuple(
        (r.pipe, f"{r.inserted:,}", f"{r.updated:,}", f"{r.unchanged:,}", f"{r.duration:.3f}")
        for r in results
    )
    headers = ("pipe", "inserted", "updated", "unchanged", "seconds")
    return Table(caption, headers, rows, numeric=frozenset({1, 2, 3, 4}))
