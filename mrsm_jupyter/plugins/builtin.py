"""The built-in plugin: features of mrsm_jupyter itself that go through the hooks."""

from __future__ import annotations

from mrsm_jupyter.connectors.registry import make_connector
from mrsm_jupyter.plugins.connector import build_plugin_connector
from mrsm_jupyter.plugins.hookspecs import hookimpl


@hookimpl
def register_connectors() -> None:
    """``plugin:<name>``: pipes fetched through a plugin."""
    make_connector("plugin", needs_attributes=False)(build_plugin_connector)
