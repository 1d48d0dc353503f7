"""Routes for pipes: listing, registration, attributes, maintenance and sync triggers.

Each handler parses its request, calls the public Python API on a worker thread, and answers
JSON; none of them knows SQL.
"""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from mrsm_jupyter.errors import InvalidKeysError, PipeNotRegisteredError
from mrsm_jupyter.jupyter.server.base import MrsmHandler, authorized_to
from mrsm_jupyter.jupyter.server.instances import list_instances
from mrsm_jupyter.jupyter.server.openapi import Operation, Query, operation
from mrsm_jupyter.jupyter.server.payloads import (
    ActionInfo,
    ClearRequest,
    ColumnsTypes,
    DistinctInfo,
    EditRequest,
    ExistsInfo,
    PipeDetail,
    PipeInfo,
    RegisterRequest,
    RowcountInfo,
    SyncRequest,
    SyncResultInfo,
    SyncTimeInfo,
)
from mrsm_jupyter.jupyter.server.wire import WireFormatError, decode_bound, encode_bound, to_json_value
from mrsm_jupyter.pipes.listing import get_pipes
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.result import ActionResult, SyncResult

logger = logging.getLogger(__name__)
INSTANCE = Query("instance_keys", "The instance (default: the server's default instance).")
PARAMETERS = Query("parameters", "The pipe's parameters as a JSON object, used instead of the stored ones.")
PIPE = (INSTANCE, PARAMETERS)
WINDOW = (
    Query("begin", "Rows with datetime >= begin (ISO 8601 or integer).", str | int),
    Query("end", "Rows with datetime < end (ISO 8601 or integer).", str | int),
    Query("params", "Filters as a JSON object: {'id': 1}, {'id': [1, 2]}, {'id': '_1'}, {'id': null}."),
)
_SCALARS = (str, int, float, bool, type(None))


def check_params(value: Any) -> dict[str, Any] | None:
    """Filters in the engine's grammar: a column -> a scalar or a list of scalars."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise WireFormatError("params must be a JSON object of column -> value(s).")
    for column, wanted in value.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if not all(isinstance(v, _SCALARS) for v in values):
            raise WireFormatError(f"params[{column!r}] must be a value or a list of values.")
    return value


def pipe_info(pipe: Pipe, rowcount: bool = False) -> PipeInfo:
    info = PipeInfo(
        connector_keys=pipe.connector_keys,
        metric_key=pipe.metric_key,
        location_key=pipe.location_key,
        instance_keys=pipe.instance_keys,
    )
    if rowcount:
        info["rowcount"] = pipe.get_rowcount()
    return info


def action_info(result: ActionResult) -> ActionInfo:
    return ActionInfo(
        pipe=result.pipe,
        action=result.action,
        rows=result.rows,
        success=result.success,
        message=result.message,
    )


def sync_info(pipe: Pipe, result: SyncResult) -> SyncResultInfo:
    return SyncResultInfo(
        pipe=result.pipe,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        duration=result.duration,
        batches=result.batches,
        columns_added=result.columns_added,
        columns_widened=result.columns_widened,
        created_table=result.created_table,
        success=result.success,
        message=result.message,
        dtypes={str(k): str(v) for k, v in (pipe.parameters.get("dtypes") or {}).items()},
    )


class PipeRoute(MrsmHandler):
    """A route under ``pipes/{connector_keys}/{metric_key}/{location_key}``."""

    def window(self) -> tuple[Any, Any, dict[str, Any] | None]:
        begin = decode_bound(self.query("begin"), "begin")
        end = decode_bound(self.query("end"), "end")
        return begin, end, check_params(self.query_json("params"))


class PipesHandler(MrsmHandler):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "Registered pipes by keys and tags ('_key' excludes); all instances without instance_keys.",
            response=list[PipeInfo],
            query=(
                INSTANCE,
                Query("connector_keys", "Connector keys.", many=True),
                Query("metric_keys", "Metric keys.", many=True),
                Query("location_keys", "Location keys ('None' for no location).", many=True),
                Query("tags", "Tags.", many=True),
                Query("rowcount", "'true' to count each pipe's rows.", bool),
            ),
        )
    )
    async def get(self) -> None:
        keys = self.query("instance_keys")
        instances = [keys] if keys else [i["keys"] for i in await self.call(list_instances)]
        found: list[PipeInfo] = []
        for instance in instances:
            found += await self.call(lambda i=instance: self._list(i))  # type: ignore[misc]
        self.send_json(found)

    def _list(self, instance: str) -> list[PipeInfo]:
        rowcount = self.query("rowcount") in ("true", "1")
        try:
            pipes = get_pipes(
                self.query_list("connector_keys"),
                self.query_list("metric_keys"),
                list(self.query_list("location_keys")),
                tags=self.query_list("tags"),
                instance=instance,
                as_list=True,
            )
        except Exception:
            if self.query("instance_keys"):
                raise
            logger.warning("mrsm_jupyter: cannot list the pipes of %s", instance, exc_info=True)
            return []
        return [pipe_info(p, rowcount) for p in pipes]

    @web.authenticated
    @authorized
    @operation(Operation("Register a pipe.", response=PipeInfo, request=RegisterRequest, status=201))
    async def post(self) -> None:
        self.send_json(await self.call(self._register), status=201)

    def _register(self) -> PipeInfo:
        body = self.body_object()
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise WireFormatError("parameters must be a JSON object.")
        pipe = Pipe(
            body.get("connector_keys"),  # type: ignore[arg-type]  # validated by Pipe
            body.get("metric_key"),  # type: ignore[arg-type]
            body.get("location_key"),
            instance=body.get("instance_keys") or self.instance_keys,
            parameters=parameters,
        )
        pipe.register()
        return pipe_info(pipe)


class PipeHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(Operation("A registered pipe.", response=PipeDetail, query=(INSTANCE,)))
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = Pipe(connector_keys, metric_key, location_key, instance=self.instance_keys)
        self.send_json(await self.call(lambda: self._detail(pipe)))

    def _detail(self, pipe: Pipe) -> PipeDetail:
        stored = pipe.instance_connector.get_pipe_parameters(pipe)
        if stored is None:
            raise PipeNotRegisteredError(pipe, "is not registered.", "Register it first: POST pipes.")
        pipe.parameters = stored
        return PipeDetail(
            connector_keys=pipe.connector_keys,
            metric_key=pipe.metric_key,
            location_key=pipe.location_key,
            instance_keys=pipe.instance_keys,
            parameters=stored,
            target=pipe.target,
            tags=pipe.tags,
            columns=pipe.columns,
        )

    @web.authenticated
    @authorized
    @operation(
        Operation(
            "Replace the pipe's parameters.", response=ActionInfo, request=EditRequest, query=(INSTANCE,)
        )
    )
    async def patch(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = Pipe(connector_keys, metric_key, location_key, instance=self.instance_keys)
        parameters = self.body_object().get("parameters")
        if not isinstance(parameters, dict):
            raise WireFormatError("the body must be {'parameters': {...}}.")
        pipe.parameters = parameters
        self.send_json(action_info(await self.call(pipe.edit)))

    @web.authenticated
    @authorized
    @operation(
        Operation("Drop the pipe's table and remove its registration.", response=ActionInfo, query=PIPE)
    )
    async def delete(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        self.send_json(action_info(await self.call(pipe.delete)))


class ColumnsHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(Operation("The table's columns and their dtypes.", response=ColumnsTypes, query=PIPE))
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        self.send_json(ColumnsTypes(columns=await self.call(pipe.get_columns_types)))


class ExistsHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(Operation("Whether the pipe's table exists.", response=ExistsInfo, query=PIPE))
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        self.send_json(ExistsInfo(exists=await self.call(pipe.exists)))


class RowcountHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation("Rows in [begin, end) matching params.", response=RowcountInfo, query=(*PIPE, *WINDOW))
    )
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        begin, end, params = self.window()
        count = await self.call(lambda: pipe.get_rowcount(begin=begin, end=end, params=params))
        self.send_json(RowcountInfo(rowcount=count))


class SyncTimeHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "The newest (or oldest) datetime value.",
            response=SyncTimeInfo,
            query=(*PIPE, Query("newest", "'false' for the oldest.", bool), WINDOW[2]),
        )
    )
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        newest = self.query("newest", "true") not in ("false", "0")
        params = check_params(self.query_json("params"))
        value = await self.call(lambda: pipe.get_sync_time(newest=newest, params=params))
        self.send_json(SyncTimeInfo(sync_time=encode_bound(value)))


class DistinctHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "Distinct non-null values of one column, sorted.",
            response=DistinctInfo,
            query=(*PIPE, Query("column", "The column."), *WINDOW, Query("limit", "At most this many.", int)),
        )
    )
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        column = self.query("column")
        if not column:
            raise InvalidKeysError("query parameter 'column' names the column; it is missing.")
        begin, end, params = self.window()
        limit = self.query_int("limit", None, 0, 2**31)
        values = await self.call(lambda: pipe.get_distinct(column, begin, end, params, limit))
        self.send_json(DistinctInfo(values=to_json_value(values)))


class DropHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(Operation("Drop the pipe's table (the registration stays).", response=ActionInfo, query=PIPE))
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        self.send_json(action_info(await self.call(pipe.drop)))


class ClearHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "Delete rows in [begin, end) matching params.",
            response=ActionInfo,
            request=ClearRequest,
            query=PIPE,
        )
    )
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        body = self.body_object()
        begin, end = decode_bound(body.get("begin"), "begin"), decode_bound(body.get("end"), "end")
        params = check_params(body.get("params"))
        result = await self.call(lambda: pipe.clear(begin=begin, end=end, params=params))
        self.send_json(action_info(result))


class DeduplicateHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(Operation("Remove rows whose keys repeat.", response=ActionInfo, query=PIPE))
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        self.send_json(action_info(await self.call(pipe.deduplicate)))


class SyncHandler(PipeRoute):
    @web.authenticated
    @authorized_to("execute")
    @operation(
        Operation(
            "Fetch from the pipe's source and merge, on the server.",
            response=SyncResultInfo,
            request=SyncRequest,
            query=PIPE,
        )
    )
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        body = self.body_object()
        begin, end = decode_bound(body.get("begin"), "begin"), decode_bound(body.get("end"), "end")
        result = await self.call(lambda: pipe.sync(begin=begin, end=end))
        self.send_json(sync_info(pipe, result))
