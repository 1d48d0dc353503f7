"""The route table: path templates under ``<base_url>mrsm/api/`` and their handlers.

The same table is served (:mod:`.extension`) and described (:mod:`.openapi`).
"""

from __future__ import annotations

import re

from mrsm_jupyter.jupyter.server.activity import RowcountBucketsHandler, VerifyHandler
from mrsm_jupyter.jupyter.server.data import DataHandler
from mrsm_jupyter.jupyter.server.fingerprints import FingerprintHandler, LeafRowsHandler, LeavesHandler
from mrsm_jupyter.jupyter.server.instances import ConnectorsHandler, InstancesHandler, OpenAPIHandler
from mrsm_jupyter.jupyter.server.jobs import (
    JobActionHandler,
    JobHandler,
    JobLogsHandler,
    JobLogsSocket,
    JobsHandler,
)
from mrsm_jupyter.jupyter.server.pipes import (
    ClearHandler,
    ColumnsHandler,
    DeduplicateHandler,
    DistinctHandler,
    DropHandler,
    ExistsHandler,
    PipeHandler,
    PipesHandler,
    RowcountHandler,
    SyncHandler,
    SyncTimeHandler,
)
from mrsm_jupyter.jupyter.server.runs import RunsHandler

NAMESPACE = "mrsm/api"
PIPE_PATH = "pipes/{connector_keys}/{metric_key}/{location_key}"
ROUTES: list[tuple[str, type]] = [
    ("openapi.json", OpenAPIHandler),
    ("instances", InstancesHandler),
    ("connectors", ConnectorsHandler),
    ("pipes", PipesHandler),
    (PIPE_PATH, PipeHandler),
    (f"{PIPE_PATH}/columns", ColumnsHandler),
    (f"{PIPE_PATH}/exists", ExistsHandler),
    (f"{PIPE_PATH}/rowcount", RowcountHandler),
    (f"{PIPE_PATH}/sync_time", SyncTimeHandler),
    (f"{PIPE_PATH}/distinct", DistinctHandler),
    (f"{PIPE_PATH}/data", DataHandler),
    (f"{PIPE_PATH}/drop", DropHandler),
    (f"{PIPE_PATH}/clear", ClearHandler),
    (f"{PIPE_PATH}/deduplicate", DeduplicateHandler),
    (f"{PIPE_PATH}/sync", SyncHandler),
    (f"{PIPE_PATH}/fingerprint", FingerprintHandler),
    (f"{PIPE_PATH}/fingerprint/leaves", LeavesHandler),
    (f"{PIPE_PATH}/fingerprint/rows", LeafRowsHandler),
    (f"{PIPE_PATH}/verify", VerifyHandler),
    (f"{PIPE_PATH}/rowcount_buckets", RowcountBucketsHandler),
    ("jobs", JobsHandler),
    ("jobs/{name}", JobHandler),
    ("jobs/{name}/logs", JobLogsHandler),
    ("jobs/{name}/logs/ws", JobLogsSocket),
    ("jobs/{name}/{action}", JobActionHandler),
    ("runs", RunsHandler),
]
_PARAMETER = re.compile(r"\{(\w+)\}")


def route_pattern(template: str) -> str:
    """``pipes/{metric_key}`` -> ``pipes/(?P<metric_key>[^/]+)``: one percent-encoded segment each."""
    pieces = _PARAMETER.split(template)
    return "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(pieces))
