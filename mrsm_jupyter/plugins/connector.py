"""``plugin:<name>``: the source connector of pipes whose rows come from a plugin.

``pipe.fetch`` (and so ``pipe.sync()`` and ``sync pipes``) runs the plugin's ``fetch(pipe,
begin, end)``, or its ``sync(pipe)``, in a worker (:mod:`.runner`); ``pipe.register()`` asks
its ``register(pipe)`` for initial parameters. A worker is stopped after
``parameters['fetch']['timeout_seconds']`` (default 600).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mrsm_jupyter.errors import PluginError
from mrsm_jupyter.plugins.loading import find_plugins, get_plugin
from mrsm_jupyter.plugins.names import validate_plugin_name
from mrsm_jupyter.plugins.runner import DEFAULT_TIMEOUT, run_plugin

if TYPE_CHECKING:
    import pyarrow as pa

    from mrsm_jupyter.pipes.bounds import Window
    from mrsm_jupyter.pipes.pipe import Pipe

log = logging.getLogger(__name__)


def _timeout(pipe: Pipe) -> float:
    fetch = pipe.parameters.get("fetch") or {}
    return float(fetch.get("timeout_seconds", DEFAULT_TIMEOUT))


class PluginConnector:
    """Fetches a pipe's rows through the plugin called ``label``."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.keys = f"plugin:{label}"

    def __repr__(self) -> str:
        return f"PluginConnector({self.keys!r})"

    def fetch(self, pipe: Pipe, window: Window) -> Iterator[pa.Table]:
        """The plugin's batches for ``[window.begin, window.end)``, one Arrow table each."""
        plugin = get_plugin(self.label)
        call = "fetch" if "fetch" in plugin.functions else "sync"
        result = run_plugin(
            plugin, call, pipe=pipe, begin=window.begin, end=window.end, timeout=_timeout(pipe)
        )
        return result.batches()

    def register(self, pipe: Pipe) -> dict[str, Any]:
        """The parameters the plugin's ``register(pipe)`` gives: none if it has no register,
        or is not installed yet (as in Meerschaum, such a pipe can be registered first)."""
        plugin = find_plugins().get(validate_plugin_name(self.label))
        if plugin is None:
            missing = "%s: plugin %r is not installed; registered without its parameters."
            log.warning(missing, pipe, self.label)
            return {}
        if "register" not in plugin.functions:
            return {}
        value = run_plugin(plugin, "register", pipe=pipe, timeout=_timeout(pipe)).value
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise PluginError(
                self.label,
                f"register() returned a {type(value).__name__}.",
                "Return a dict of parameters.",
                pipe=pipe,
            )
        return value


def build_plugin_connector(label: str, attributes: dict[str, Any]) -> PluginConnector:
    """``plugin:<name>`` needs no definition; the plugin must exist when it is used."""
    return PluginConnector(label)
