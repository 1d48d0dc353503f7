"""Errors of the action layer, part of the one hierarchy under :class:`MrsmError`."""

from __future__ import annotations

import re

from mrsm_jupyter.errors import MrsmError


class ActionError(MrsmError):
    """An action could not run; the message says what to type instead."""


class ActionArgumentError(ActionError):
    """The words or options of an action do not parse."""


class UnknownActionError(ActionArgumentError):
    """No action by that name; the message suggests the closest one."""


class NoPipesError(ActionError):
    """The keys given to an action select no registered pipe."""


class ConfirmationError(ActionError):
    """A destructive action was not confirmed (add ``-y``), or the user answered no."""


def one_line(error: BaseException) -> str:
    """The error as one line (database messages span several), named by its class."""
    text = re.sub(r"\s+", " ", str(error)).strip()
    return f"{type(error).__name__}: {text}"
