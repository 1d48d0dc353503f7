"""Routes for instances, connectors and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from mrsm_jupyter.config import connector_attributes
from mrsm_jupyter.jupyter.server.base import MrsmHandler
from mrsm_jupyter.jupyter.server.openapi import Operation, openapi_document, operation
from mrsm_jupyter.jupyter.server.payloads import ConnectorInfo, InstanceInfo
from mrsm_jupyter.jupyter.server.secrets import redact_attributes, redact_uri

# Where the extension leaves its route table for this handler (routes.py imports this module).
ROUTES_SETTING = "mrsm_jupyter_routes"
# Connector types that can store pipes.
INSTANCE_TYPES = ("sql", "api", "influxdb")
_BUILT_IN: dict[str, dict[str, Any]] = {"sql:local": {"flavor": "duckdb"}, "sql:memory": {"flavor": "duckdb"}}


def _flavor(keys: str, attrs: dict[str, Any]) -> str:
    if keys.startswith(("api:", "influxdb:")):
        return keys.split(":", 1)[0]
    if "flavor" in attrs:
        return str(attrs["flavor"])
    uri = str(attrs.get("uri", ""))
    return uri.split("://", 1)[0].split("+", 1)[0] if "://" in uri else "unknown"


def known_connectors() -> dict[str, dict[str, Any]]:
    """Built-in and configured connectors by keys (configured ones win)."""
    return {**_BUILT_IN, **connector_attributes()}


def list_instances() -> list[InstanceInfo]:
    return [
        InstanceInfo(keys=keys, flavor=_flavor(keys, attrs))
        for keys, attrs in sorted(known_connectors().items())
        if keys.split(":", 1)[0] in INSTANCE_TYPES
    ]


def list_connectors() -> list[ConnectorInfo]:
    found = []
    for keys, attrs in sorted(known_connectors().items()):
        typ, label = keys.split(":", 1)
        uri = attrs.get("uri")
        shown = redact_attributes({k: v for k, v in attrs.items() if k != "uri"})
        found.append(
            ConnectorInfo(
                keys=keys,
                type=typ,
                label=label,
                uri=None if uri is None else redact_uri(str(uri)),
                attributes=shown,
            )
        )
    return found


class InstancesHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(Operation("The instance connectors this server knows.", response=list[InstanceInfo]))
    async def get(self) -> None:
        self.send_json(await self.call(list_instances))


class ConnectorsHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(Operation("Configured connectors, secrets masked.", response=list[ConnectorInfo]))
    async def get(self) -> None:
        self.send_json(await self.call(list_connectors))


class OpenAPIHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(Operation("This document.", response=dict[str, Any]))
    async def get(self) -> None:
        routes = self.settings[ROUTES_SETTING]
        self.send_json(openapi_document(routes, self.base_url))
