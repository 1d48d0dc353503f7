"""``runs``: the run records of an instance (``mrsm_runs``), for ``api:`` instances' diagnostics."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.jupyter.server.base import MrsmHandler
from mrsm_jupyter.jupyter.server.openapi import Operation, Query, operation
from mrsm_jupyter.jupyter.server.payloads import ARROW_STREAM
from mrsm_jupyter.jupyter.server.wire import decode_bound, table_to_ipc
from mrsm_jupyter.pipes.bounds import Window

RUNS_QUERY = (
    Query("instance_keys", "The instance (default: the server's default instance)."),
    Query("begin", "Runs that started at or after this ISO 8601 datetime."),
    Query("end", "Runs that started before this ISO 8601 datetime."),
    Query("kinds", "'sync', 'verify' or 'job'.", many=True),
    Query("limit", "The newest runs only.", int),
)


class RunsHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "Run records (sync, verify, job) that started in [begin, end), oldest first.",
            query=RUNS_QUERY,
            arrow_response=True,
        )
    )
    async def get(self) -> None:
        window = Window.of(decode_bound(self.query("begin"), "begin"), decode_bound(self.query("end"), "end"))
        kinds = self.query_list("kinds") or None
        limit = self.query_int("limit", None, 0, 2**31)
        instance = get_connector(self.instance_keys)
        table = await self.call(lambda: instance.read_runs(window, kinds, limit))
        self.finish(table_to_ipc(table), set_content_type=ARROW_STREAM)
