"""The action grammar shared by ``%mrsm`` and ``jupyter mrsm``.

>>> outcome = run_action(parse_action("show pipes -i sql:memory"))
>>> outcome.message
'0 pipe(s) on sql:memory match (no keys).'

Parsing and looking actions up import nothing heavy; an action's module (and the engine)
is imported when it runs.
"""

from mrsm_jupyter.actions.errors import (
    ActionArgumentError,
    ActionError,
    ConfirmationError,
    NoPipesError,
    UnknownActionError,
)
from mrsm_jupyter.actions.grammar import ActionRequest, parse_action
from mrsm_jupyter.actions.outcome import ActionOutcome, PipeFailure, Table
from mrsm_jupyter.actions.registry import ActionContext, action_names, run_action

__all__ = [
    "ActionArgumentError",
    "ActionContext",
    "ActionError",
    "ActionOutcome",
    "ActionRequest",
    "ConfirmationError",
    "NoPipesError",
    "PipeFailure",
    "Table",
    "UnknownActionError",
    "action_names",
    "parse_action",
    "run_action",
]
