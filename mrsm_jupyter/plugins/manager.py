"""The plugin manager: the built-in plugin and every plugin that implements hooks.

Plugins whose source mentions hooks (:mod:`.loading`) are imported into this process, with
their environment's site-packages after the kernel's (the kernel's packages win here; only
a worker gives a plugin its own versions first). The manager is rebuilt when the plugins
directory changes, so ``install plugin`` takes effect without a restart. A hook that
raises becomes a :class:`~mrsm_jupyter.errors.PluginError` naming the plugin (and the pipe).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

from mrsm_jupyter.errors import MrsmError, PluginError
from mrsm_jupyter.plugins import builtin, hookspecs
from mrsm_jupyter.plugins.environments import venv_dir, venv_site
from mrsm_jupyter.plugins.loading import Plugin, find_plugins
from mrsm_jupyter.plugins.names import plugins_dir
from mrsm_jupyter.plugins.worker import PLUGINS_PACKAGE, import_plugin

if TYPE_CHECKING:
    from mrsm_jupyter.actions.registry import ActionFunction
    from mrsm_jupyter.pipes.pipe import Pipe
    from mrsm_jupyter.pipes.result import SyncResult

log = logging.getLogger(__name__)
_lock = threading.RLock()
_cached: tuple[tuple[str, int], pluggy.PluginManager] | None = None
# Plugins whose hooks could not be loaded, with the reason (shown by `show plugins`).
_broken: dict[str, str] = {}


def _import_in_process(plugin: Plugin) -> Any:
    site = str(venv_site(venv_dir(plugin.name)))
    if site not in sys.path:
        sys.path.append(site)
    for name in [m for m in sys.modules if m == plugin.module or m.startswith(f"{plugin.module}.")]:
        del sys.modules[name]  # a reinstalled plugin is imported afresh
    return import_plugin(plugin.module, str(plugins_dir()))


def _build() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin, name="builtin")
    _broken.clear()
    for plugin in find_plugins().values():
        if not plugin.has_hooks:
            continue
        try:
            manager.register(_import_in_process(plugin), name=plugin.name)
        except Exception as exc:  # (one broken plugin must not stop the others)
            _broken[plugin.name] = f"{type(exc).__name__}: {exc}"
            log.warning("plugin %r: its hooks are not loaded (%s: %s).", plugin.name, type(exc).__name__, exc)
    manager.hook.register_connectors()
    return manager


def plugin_manager() -> pluggy.PluginManager:
    """The manager for the current plugins directory (rebuilt when the directory changes)."""
    global _cached  # noqa: PLW0603 (one manager per process, like the connector cache)
    directory = plugins_dir()
    key = (str(directory), directory.stat().st_mtime_ns if directory.is_dir() else 0)
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, _build())
        return _cached[1]


def broken_plugins() -> dict[str, str]:
    """Plugins whose hooks could not be imported, with the reason."""
    plugin_manager()
    return dict(_broken)


def reload_plugins() -> None:
    """Forget the manager: the next hook call imports the plugins again."""
    global _cached  # noqa: PLW0603
    with _lock:
        _cached = None
        if PLUGINS_PACKAGE in sys.modules:
            del sys.modules[PLUGINS_PACKAGE]


def _each(hook: str) -> list[tuple[str, Callable[..., Any]]]:
    caller = getattr(plugin_manager().hook, hook)
    return [(impl.plugin_name, impl.function) for impl in caller.get_hookimpls()]


def _wrapped(plugin: str, hook: str, pipe: Pipe | None, exc: Exception) -> PluginError:
    if isinstance(exc, PluginError):
        return exc
    return PluginError(
        plugin,
        f"its {hook} hook raised {type(exc).__name__}: {exc}",
        "Fix or uninstall the plugin.",
        pipe=pipe,
    )


def run_sync_hooks(hook: str, pipe: Pipe, result: SyncResult | None = None) -> None:
    """Call every ``pre_sync`` (or ``post_sync``) implementation for ``pipe``."""
    for plugin, function in _each(hook):
        try:
            function(pipe=pipe) if result is None else function(pipe=pipe, result=result)
        except Exception as exc:
            raise _wrapped(plugin, hook, pipe, exc) from exc


def plugin_actions() -> dict[str, tuple[str, ActionFunction]]:
    """Actions added by plugins: words -> (plugin, function)."""
    from mrsm_jupyter.actions.registry import ACTIONS  # noqa: PLC0415 (the registry asks us)

    found: dict[str, tuple[str, ActionFunction]] = {}
    for plugin, function in _each("register_actions"):
        try:
            actions = function()
        except MrsmError:
            raise
        except Exception as exc:
            raise _wrapped(plugin, "register_actions", None, exc) from exc
        for words, action in dict(actions or {}).items():
            if words in ACTIONS or words in found:
                log.warning("plugin %r: the action %r is taken; it is not added.", plugin, words)
                continue
            found[words] = (plugin, action)
    return found


def plugin_routes() -> list[tuple[str, str, type]]:
    """Routes added by plugins: (plugin, path template, handler class)."""
    routes = []
    for plugin, function in _each("server_routes"):
        try:
            routes += [(plugin, template, handler) for template, handler in function() or []]
        except Exception as exc:  # (the server starts without that plugin's routes)
            log.warning(
                "plugin %r: its routes are not added (%s).",
                plugin,
                _wrapped(plugin, "server_routes", None, exc),
            )
    return routes
