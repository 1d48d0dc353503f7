"""``%mrsm``, ``%%pipe`` and ``%%job``: thin shells that parse, call the API and return what it gives.

>>> %load_ext mrsm_jupyter
>>> %config MrsmMagics.instance = "sql:memory"
>>> res = %mrsm sync pipes -m temperature
>>> %mrsm sync pipes -m temperature -d --name temps --schedule "every 10 minutes"
>>> %mrsm show jobs

Errors print one line naming the pipe and the fix; ``--traceback`` raises them instead.
Everything heavy (the engine, pandas, tqdm) is imported when a magic first runs, so that
``%load_ext mrsm_jupyter`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from traitlets import Bool, Int, Unicode

from mrsm_jupyter.actions.errors import one_line
from mrsm_jupyter.actions.grammar import (
    RESTART_CHOICES,
    RaisingParser,
    json_object_arg,
    parse_action,
    split_line,
)
from mrsm_jupyter.actions.outcome import ActionOutcome
from mrsm_jupyter.actions.registry import ActionContext, run_action
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jupyter import display

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from mrsm_jupyter.pipes.pipe import Pipe

TRACEBACK_FLAG = "--traceback"
_HINT = f" (add {TRACEBACK_FLAG} for the traceback)"
T = TypeVar("T")


def _pipe_cell_parser() -> argparse.ArgumentParser:
    parser = RaisingParser(prog="%%pipe", add_help=False, allow_abbrev=False)
    parser.add_argument("connector_keys", help="the source, e.g. sql:src or plugin:noaa")
    parser.add_argument("metric_key", help="the pipe's metric, e.g. temperature")
    parser.add_argument("location_key", nargs="?", default=None, help="the pipe's location (optional)")
    parser.add_argument("-i", "--instance", default=None, help="where the pipe is registered and stored")
    parser.add_argument("--columns", default=None, help="column roles, e.g. dt=ts,id=station")
    sync = parser.add_mutually_exclusive_group()
    sync.add_argument("--sync", dest="sync", action="store_true", default=True, help="sync (default)")
    sync.add_argument("--no-sync", dest="sync", action="store_false", help="only register or update")
    parser.add_argument(TRACEBACK_FLAG, action="store_true", help="raise errors with their traceback")
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    return parser


PIPE_CELL_PARSER = _pipe_cell_parser()


def _job_cell_parser() -> argparse.ArgumentParser:
    parser = RaisingParser(prog="%%job", add_help=False, allow_abbrev=False)
    parser.add_argument("name", help="the job's name, e.g. nightly-report")
    parser.add_argument("--schedule", default=None, help="e.g. 'every 10 minutes' or a cron line")
    parser.add_argument("--cron", default=None, help="a cron line, e.g. '*/5 * * * *'")
    parser.add_argument("--restart", choices=RESTART_CHOICES, default="never", help="restart policy")
    parser.add_argument(
        "--parameters", type=json_object_arg, default=None, help="JSON object; each key becomes a variable"
    )
    parser.add_argument(TRACEBACK_FLAG, action="store_true", help="raise errors with their traceback")
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    return parser


JOB_CELL_PARSER = _job_cell_parser()


def print_error(text: str) -> None:
    print(text + _HINT, file=sys.stderr)


@magics_class
class MrsmMagics(Magics):
    """Run Meerschaum-style actions on pipes from a notebook."""

    instance = Unicode(
        None, allow_none=True, help="Instance used when a magic gives no -i (default: sql:local)."
    ).tag(config=True)
    row_limit = Int(10, help="Rows shown by `show data` without --limit.").tag(config=True)
    progress = Bool(True, help="Show progress bars while syncing.").tag(config=True)

    def action_context(self) -> ActionContext:
        # No one can answer a prompt reliably from a cell: destructive actions need -y.
        return ActionContext(
            instance=self.instance,
            progress=self.progress,
            row_limit=self.row_limit,
            prog="%mrsm",
            widgets=True,
        )

    @no_var_expand  # JSON in --params has braces IPython would try to expand
    @line_magic
    def mrsm(self, line: str) -> ActionOutcome | None:
        """Run an action, e.g. ``%mrsm sync pipes -m temperature``; ``%mrsm --help`` lists them."""
        wants_traceback = TRACEBACK_FLAG in line.split()
        try:
            words = [w for w in split_line(line) if w != TRACEBACK_FLAG]
            outcome = run_action(parse_action(words), self.action_context())
        except MrsmError as exc:
            if wants_traceback:
                raise
            print_error(one_line(exc))
            return None
        if outcome.failures and wants_traceback:
            raise outcome.failures[0].error
        for failure in outcome.failures:
            print_error(failure.line)
        return outcome

    @no_var_expand
    @cell_magic
    def pipe(self, line: str, cell: str) -> Pipe | None:
        """Define a pipe from a SQL SELECT or from Python defining ``fetch(pipe, begin, end)``; sync it.

        ``%%pipe CONNECTOR METRIC [LOCATION] [-i INSTANCE] [--columns dt=ts,id=station] [--no-sync]``
        """
        return _run_cell_magic(line, PIPE_CELL_PARSER, lambda args: self._run_pipe_cell(args, cell))

    @no_var_expand
    @cell_magic
    def job(self, line: str, cell: str) -> ActionOutcome | None:
        """Run the cell's code as a background job in a kernel of its own; returns at once.

        ``%%job NAME [--schedule WHEN | --cron LINE] [--restart on-failure|always|never] [--parameters JSON]``
        """
        return _run_cell_magic(line, JOB_CELL_PARSER, lambda args: self._run_job_cell(args, cell))

    def _run_job_cell(self, args: argparse.Namespace, cell: str) -> ActionOutcome:
        # Jobs (psutil, filelock, croniter) load with the first %%job, not with the extension.
        from mrsm_jupyter.actions.daemon import restart_policy, schedule_text  # noqa: PLC0415
        from mrsm_jupyter.actions.jobs import start_cell_job  # noqa: PLC0415

        return start_cell_job(
            args.name,
            cell,
            schedule=schedule_text(schedule=args.schedule, cron=args.cron),
            restart=restart_policy(args.restart),
            parameters=args.parameters,
            context=self.action_context(),
        )

    def _run_pipe_cell(self, args: argparse.Namespace, cell: str) -> Pipe:
        # The engine (and pandas) load with the first cell, not with the extension.
        from IPython.display import display as show  # noqa: PLC0415

        from mrsm_jupyter.actions.sync import batch_bar  # noqa: PLC0415
        from mrsm_jupyter.jupyter.pipe_cell import PipeCell, parse_columns, run_pipe_cell  # noqa: PLC0415

        spec = PipeCell(
            connector_keys=args.connector_keys,
            metric_key=args.metric_key,
            location_key=args.location_key,
            instance=args.instance or self.instance,
            columns=parse_columns(args.columns),
            sync=args.sync,
            body=cell,
        )
        result = run_pipe_cell(
            spec, self.shell.user_ns if self.shell else {}, batch_bar if self.progress else None
        )
        if result.sync_result is not None:
            cast(Callable[[object], None], show)(result.sync_result)
        return result.pipe


def _run_cell_magic(
    line: str, parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], T]
) -> T | None:
    """Parse a cell magic's line and run it; errors print one line (raised with ``--traceback``)."""
    wants_traceback = TRACEBACK_FLAG in line.split()
    try:
        words = split_line(line)
        # Asked before parsing: help needs no (required) arguments.
        if {"-h", "--help"} & set(words):
            print(parser.format_help())
            return None
        return run(parser.parse_args(words))
    except MrsmError as exc:
        if wants_traceback:
            raise
        print_error(one_line(exc))
        return None


_FORMATTED_TYPES = (
    ("mrsm_jupyter.pipes.pipe", "Pipe", display.pipe_html),
    ("mrsm_jupyter.connectors.instance", "InstanceConnector", display.connector_html),
    ("mrsm_jupyter.actions.outcome", "ActionOutcome", display.outcome_html),
)


_OUTCOME_TYPE = ("mrsm_jupyter.actions.outcome", "ActionOutcome")


def _html_formatter(ip: InteractiveShell) -> Any:
    assert ip.display_formatter is not None, "an IPython shell always has a display formatter"
    return ip.display_formatter.formatters["text/html"]


def _bundle_formatter(ip: InteractiveShell) -> Any:
    assert ip.display_formatter is not None, "an IPython shell always has a display formatter"
    return ip.display_formatter.mimebundle_formatter


def load(ip: InteractiveShell) -> None:
    """Register the magics, their config and the HTML reprs (types named, not imported)."""
    magics = MrsmMagics(ip)
    ip.register_magics(magics)
    # %config lists (and sets) options of the shell's configurables.
    ip.configurables.append(magics)  # type: ignore[arg-type]  # IPython annotates this list too narrowly
    html = _html_formatter(ip)
    for module, name, printer in _FORMATTED_TYPES:
        html.for_type_by_name(module, name, printer)
    # `show jobs` also carries the live jobs widget, `show diagnostics` a plotly figure; their
    # HTML tables stay the fallback.
    _bundle_formatter(ip).for_type_by_name(*_OUTCOME_TYPE, display.outcome_bundle)
    if list not in html.type_printers:  # never replace another extension's list repr
        html.for_type(list, display.pipes_html)


def unload(ip: InteractiveShell) -> None:
    """Remove what :func:`load` added."""
    manager = ip.magics_manager
    manager.magics["line"].pop("mrsm", None)
    manager.magics["cell"].pop("pipe", None)
    manager.magics["cell"].pop("job", None)
    ip.configurables[:] = [c for c in ip.configurables if not isinstance(c, MrsmMagics)]
    html = _html_formatter(ip)
    for module, name, _ in _FORMATTED_TYPES:
        html.deferred_printers.pop((module, name), None)
        html.type_printers = {
            t: p for t, p in html.type_printers.items() if (t.__module__, t.__name__) != (module, name)
        }
    bundle = _bundle_formatter(ip)
    if bundle.deferred_printers.get(_OUTCOME_TYPE) is display.outcome_bundle:
        del bundle.deferred_printers[_OUTCOME_TYPE]
    bundle.type_printers = {t: p for t, p in bundle.type_printers.items() if p is not display.outcome_bundle}
    if html.type_printers.get(list) is display.pipes_html:
        del html.type_printers[list]
