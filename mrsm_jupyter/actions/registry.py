"""Every action by its words, and how to run one.

Actions are named ``"<action> <subaction>"`` and map to ``"module:function"``; a module is
imported only when one of its actions runs, so listing actions (for help and "did you
mean") costs nothing. Both shells call :func:`run_action`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from mrsm_jupyter.actions.errors import ConfirmationError, UnknownActionError
from mrsm_jupyter.actions.grammar import ActionRequest, help_text
from mrsm_jupyter.actions.outcome import ActionOutcome


def refuse_unconfirmed(question: str) -> bool:
    """The default when nobody can be asked: destructive actions need ``-y``."""
    raise ConfirmationError(f"{question} Add -y to confirm.")


@dataclass(frozen=True)
class ActionContext:
    """What the shell around an action decides: defaults, progress bars, how to ask."""

    instance: str | None = None
    progress: bool = False
    row_limit: int = 10
    # How the shell is called, for the help text.
    prog: str = "mrsm"
    confirm: Callable[[str], bool] = refuse_unconfirmed
    # Where lines that stream while an action runs go (``show logs --follow``).
    echo: Callable[[str], None] = print
    # Whether the shell can show widgets (``%mrsm``): actions such as ``bootstrap pipes`` need them.
    widgets: bool = False


ActionFunction = Callable[[ActionRequest, ActionContext], ActionOutcome]

ACTIONS: dict[str, str] = {
    "show pipes": "mrsm_jupyter.actions.show:show_pipes",
    "show connectors": "mrsm_jupyter.actions.show:show_connectors",
    "show columns": "mrsm_jupyter.actions.show:show_columns",
    "show rowcounts": "mrsm_jupyter.actions.show:show_rowcounts",
    "show data": "mrsm_jupyter.actions.show:show_data",
    "show version": "mrsm_jupyter.actions.show:show_version",
    "register pipes": "mrsm_jupyter.actions.maintenance:register_pipes",
    "edit pipes": "mrsm_jupyter.actions.maintenance:edit_pipes",
    "clear pipes": "mrsm_jupyter.actions.maintenance:clear_pipes",
    "drop pipes": "mrsm_jupyter.actions.maintenance:drop_pipes",
    "delete pipes": "mrsm_jupyter.actions.maintenance:delete_pipes",
    "deduplicate pipes": "mrsm_jupyter.actions.maintenance:deduplicate_pipes",
    "sync pipes": "mrsm_jupyter.actions.sync:sync_pipes",
    "copy pipes": "mrsm_jupyter.actions.sync:copy_pipes",
    "verify pipes": "mrsm_jupyter.actions.verify:verify_pipes",
    "show jobs": "mrsm_jupyter.actions.jobs:show_jobs",
    "show logs": "mrsm_jupyter.actions.jobs:show_logs",
    "start jobs": "mrsm_jupyter.actions.jobs:start_jobs",
    "stop jobs": "mrsm_jupyter.actions.jobs:stop_jobs",
    "pause jobs": "mrsm_jupyter.actions.jobs:pause_jobs",
    "restart jobs": "mrsm_jupyter.actions.jobs:restart_jobs",
    "delete jobs": "mrsm_jupyter.actions.jobs:delete_jobs",
    "save jobs": "mrsm_jupyter.actions.jobs:save_job_list",
    "restore jobs": "mrsm_jupyter.actions.jobs:restore_job_list",
    # One pipe at a time, so the singular is the name (Meerschaum's plural works too).
    "bootstrap pipe": "mrsm_jupyter.actions.bootstrap:bootstrap_pipes",
    "bootstrap pipes": "mrsm_jupyter.actions.bootstrap:bootstrap_pipes",
    "install plugins": "mrsm_jupyter.actions.plugins:install_plugins",
    "show plugins": "mrsm_jupyter.actions.plugins:show_plugins",
    "setup plugins": "mrsm_jupyter.actions.plugins:setup_plugins",
    "uninstall plugins": "mrsm_jupyter.actions.plugins:uninstall_plugins",
    "show diagnostics": "mrsm_jupyter.actions.diagnostics:show_diagnostics",
}
# Any action given -d (or job options) runs as a background job through this instead.
BACKGROUND_ACTION = "mrsm_jupyter.actions.daemon:start_action_job"


def action_names() -> list[str]:
    return sorted(ACTIONS)


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(choices)}."


def plugin_action_functions() -> dict[str, ActionFunction]:
    """Actions added by plugins (their ``register_actions`` hook), by words."""
    # Imported here: loading plugins is work that `%load_ext` and built-in actions never need.
    from mrsm_jupyter.plugins.manager import plugin_actions  # noqa: PLC0415

    return {words: function for words, (_, function) in plugin_actions().items()}


def find_action(request: ActionRequest) -> ActionFunction:
    """The function for the request's words (a built-in action, else a plugin's), or an
    error suggesting the closest action."""
    if request.words not in ACTIONS and request.subaction is not None:
        added = plugin_action_functions().get(request.words)
        if added is not None:
            return added
    verbs = sorted({name.split()[0] for name in ACTIONS})
    if request.action not in verbs:
        raise UnknownActionError(
            f"Unknown action {request.action!r}.{_did_you_mean(request.action or '', verbs)}"
        )
    objects = sorted(name.split()[1] for name in ACTIONS if name.split()[0] == request.action)
    if request.subaction is None:
        raise UnknownActionError(
            f"{request.action!r} needs one of: {', '.join(objects)} (e.g. `{request.action} {objects[0]}`)."
        )
    if request.subaction not in objects:
        close = difflib.get_close_matches(request.subaction, objects, n=1, cutoff=0.5)
        hint = f"Did you mean '{request.action} {close[0]}'?" if close else f"Known: {', '.join(objects)}."
        raise UnknownActionError(f"Unknown action {request.words!r}. {hint}")
    return load_action(ACTIONS[request.words])


def load_action(target: str) -> ActionFunction:
    """The function named by ``"module:function"``, importing its module now."""
    module_name, function_name = target.split(":")
    return cast(ActionFunction, getattr(importlib.import_module(module_name), function_name))


def run_action(request: ActionRequest, context: ActionContext | None = None) -> ActionOutcome:
    """Run a parsed action and return its outcome (help text when ``--help`` or no words)."""
    context = context or ActionContext()
    if request.help:
        names = sorted([*action_names(), *plugin_action_functions()])
        return ActionOutcome(action="help", message=help_text(names, context.prog))
    function = find_action(request)
    if request.asks_for_a_job:
        function = load_action(BACKGROUND_ACTION)
    return function(request, context)
