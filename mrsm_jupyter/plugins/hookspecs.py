"""Every hook a plugin can implement, declared once (pluggy).

A plugin implements a hook with a function of the same name decorated with
``@mrsm_jupyter.plugins.hookimpl``. Hook implementations run in the process that uses them
(the kernel, ``jupyter mrsm``, the Jupyter server), because they hand back objects that
process needs: actions, connector classes, request handlers. A plugin's ``fetch``,
``sync``, ``register`` and ``setup`` are not hooks: they run in a worker process of the
plugin's own environment (:mod:`mrsm_jupyter.plugins.runner`).

The built-in plugin (:mod:`mrsm_jupyter.plugins.builtin`) implements these hooks too: the
``plugin:<name>`` connector type comes from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from mrsm_jupyter.actions.registry import ActionFunction
    from mrsm_jupyter.pipes.pipe import Pipe
    from mrsm_jupyter.pipes.result import SyncResult

PROJECT = "mrsm_jupyter"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_actions() -> Mapping[str, ActionFunction]:
    """Actions the plugin adds, by their two words (``{"fetch weather": function}``); each is
    called as ``function(request, context)`` and returns an ``ActionOutcome``, and runs from
    ``%mrsm`` and ``jupyter mrsm`` alike. Words already taken by a built-in action are refused."""
    raise NotImplementedError


@hookspec
def register_connectors() -> None:
    """Add connector types with ``@make_connector("type")`` (called once, the first time an
    unknown connector type is looked up). A type whose builder returns an
    ``InstanceConnector`` can hold pipes (``instance="type:label"``)."""


@hookspec
def pre_sync(pipe: Pipe) -> None:
    """Called before each ``Pipe.sync`` writes; raising stops the sync (the error names the
    plugin and the pipe)."""


@hookspec
def post_sync(pipe: Pipe, result: SyncResult) -> None:
    """Called after each ``Pipe.sync`` with its result (rows inserted, updated, unchanged)."""


@hookspec
def server_routes() -> Sequence[tuple[str, type]]:
    """REST routes for the Jupyter server extension: ``(path template, handler class)``, e.g.
    ``("stations/{station}", StationHandler)``. They are served under
    ``<base_url>/mrsm/api/plugins/<plugin>/``; the handler must subclass jupyter_server's
    ``APIHandler`` and every request must be authenticated, as for the built-in routes."""
    raise NotImplementedError
