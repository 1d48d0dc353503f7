"""``jupyter server`` loads this module (``mrsm_jupyter._jupyter_server_extension_points``)."""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.utils import url_path_join

from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jobs.api import get_jobs
from mrsm_jupyter.jobs.supervisor import ensure_supervisor
from mrsm_jupyter.jupyter.server.instances import ROUTES_SETTING
from mrsm_jupyter.jupyter.server.plugin_routes import plugin_handlers
from mrsm_jupyter.jupyter.server.routes import NAMESPACE, ROUTES, route_pattern


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the REST API under ``<base_url>mrsm/api/``."""
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.settings[ROUTES_SETTING] = ROUTES
    handlers = [
        (url_path_join(base_url, NAMESPACE, route_pattern(template)) + "/?$", handler)
        for template, handler in ROUTES
    ]
    try:
        handlers += plugin_handlers(base_url)
    except MrsmError as exc:  # the built-in API works without the plugins' routes
        serverapp.log.warning("mrsm_jupyter: plugin routes are not served: %s", exc)
    web_app.add_handlers(".*$", handlers)
    serverapp.log.info("mrsm_jupyter: REST API at %s", url_path_join(base_url, NAMESPACE))
    resurrect_saved_jobs(serverapp.log)


def resurrect_saved_jobs(log: logging.Logger) -> None:
    """Saved jobs come back with the server, as pm2 resurrects them: start the root's
    supervisor (it restores and watches them) when jobs are stored there and none runs."""
    try:
        if get_jobs():
            identity = ensure_supervisor()
            log.info("mrsm_jupyter: jobs supervisor running (pid %s)", identity.pid)
    except MrsmError as exc:  # the REST API works without it; say what went wrong
        log.warning("mrsm_jupyter: the jobs supervisor did not start: %s", exc)
