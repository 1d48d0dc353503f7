"""``jupyter mrsm ...`` (the ``jupyter-mrsm`` script): the action grammar on a terminal.

    $ jupyter mrsm show pipes -i sql:local
    $ jupyter mrsm sync pipes -m temperature --begin 2024-01-01
    $ jupyter mrsm sync pipes -m temperature -d --name temps --schedule "every 10 minutes"
    $ jupyter mrsm show logs temps --follow
    $ jupyter mrsm supervisor [--install-systemd]

Prints each outcome as text tables. Errors print one line and exit non-zero (2 for
arguments, 1 for anything else); ``--traceback`` prints the traceback too. ``supervisor`` is
not an action: it runs the job supervisor (:func:`mrsm_jupyter.jobs.supervisor.main`).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

from mrsm_jupyter.actions.errors import ActionArgumentError, ConfirmationError, one_line
from mrsm_jupyter.actions.grammar import parse_action
from mrsm_jupyter.actions.registry import ActionContext, run_action
from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jobs import supervisor

SUPERVISOR_COMMAND = "supervisor"
SUPERVISOR_HELP = """
the job supervisor (restarts, schedules and restores jobs; not an action):
  jupyter mrsm supervisor [--install-systemd]     see `jupyter mrsm supervisor --help`
"""

TRACEBACK_FLAG = "--traceback"
EXIT_FAILED = 1
EXIT_USAGE = 2


def ask_on_terminal(question: str) -> bool:
    """Ask before destructive actions when someone is at the terminal; scripts need ``-y``."""
    if not sys.stdin.isatty():
        raise ConfirmationError(f"{question} Add -y to confirm (no terminal to ask on).")
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def print_now(line: str) -> None:
    """Streamed lines (``show logs --follow``) go out at once, also into a pipe."""
    print(line, flush=True)


def _report(error: BaseException, show_traceback: bool) -> None:
    if show_traceback:
        traceback.print_exception(error, file=sys.stderr)
    print(f"error: {one_line(error)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one action; return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == [SUPERVISOR_COMMAND]:
        return supervisor.main(words[1:])
    show_traceback = TRACEBACK_FLAG in words
    words = [w for w in words if w != TRACEBACK_FLAG]
    context = ActionContext(
        progress=sys.stderr.isatty(),
        row_limit=10,
        prog="jupyter mrsm",
        confirm=ask_on_terminal,
        echo=print_now,
    )
    try:
        outcome = run_action(parse_action(words), context)
    except MrsmError as exc:
        _report(exc, show_traceback)
        return EXIT_USAGE if isinstance(exc, ActionArgumentError) else EXIT_FAILED
    if outcome.action == "help":
        print(outcome.message + SUPERVISOR_HELP)
    else:
        print(outcome.to_text(with_failures=False))
    for failure in outcome.failures:
        if show_traceback:
            traceback.print_exception(failure.error, file=sys.stderr)
        print(f"error: {failure.line}", file=sys.stderr)
    return 0 if outcome.success else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
