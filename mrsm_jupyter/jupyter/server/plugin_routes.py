"""Routes that plugins add (their ``server_routes`` hook), under
``<base_url>/mrsm/api/plugins/<plugin>/``.

A plugin's handler is served through a subclass that authenticates and authorizes every
request before the plugin's code sees it, like the built-in routes' ``@authenticated`` and
``@authorized``: reading methods need ``read`` on the ``mrsm_jupyter`` resource, the others
``execute`` (they run plugin code). A handler that is not an ``APIHandler`` is refused.
"""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.web import HTTPError

from mrsm_jupyter.jupyter.server.base import AUTH_RESOURCE
from mrsm_jupyter.jupyter.server.routes import NAMESPACE, route_pattern
from mrsm_jupyter.plugins.manager import plugin_routes

_READING = ("GET", "HEAD", "OPTIONS")
log = logging.getLogger(__name__)


def guarded(handler: type[APIHandler]) -> type[APIHandler]:
    """``handler`` with authentication and authorization checked before any of its methods."""

    async def prepare(self: APIHandler) -> None:
        await super(guard, self).prepare()
        user = self.current_user
        if user is None:
            raise HTTPError(403, "authentication required")
        action = "read" if self.request.method in _READING else "execute"
        if not self.authorizer.is_authorized(self, user, action, AUTH_RESOURCE):
            raise HTTPError(403, f"not authorized to {action} {AUTH_RESOURCE}")

    guard: type[APIHandler] = type(handler.__name__, (handler,), {"prepare": prepare})
    return guard


def plugin_handlers(base_url: str) -> list[tuple[str, Any]]:
    """Tornado handler specs for every plugin route (bad ones are logged and left out)."""
    specs: list[tuple[str, Any]] = []
    for plugin, template, handler in plugin_routes():
        if not (isinstance(handler, type) and issubclass(handler, APIHandler)):
            log.warning("plugin %r: route %r is not an APIHandler; it is not served.", plugin, template)
            continue
        path = url_path_join(base_url, NAMESPACE, "plugins", plugin, route_pattern(template.strip("/")))
        specs.append((path + "/?$", guarded(handler)))
    return specs
