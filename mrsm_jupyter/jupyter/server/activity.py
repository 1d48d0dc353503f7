"""Routes the sidebar reads at a glance and acts through: row counts per time bucket (its
sparkline) and the verify trigger. Both call the public ``Pipe`` API on a worker thread."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from jupyter_server.auth.decorator import authorized
from tornado import web

from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.jupyter.server.base import authorized_to
from mrsm_jupyter.jupyter.server.openapi import Operation, Query, operation
from mrsm_jupyter.jupyter.server.payloads import RowcountBuckets, VerifyRequest, VerifyResultInfo
from mrsm_jupyter.jupyter.server.pipes import PIPE, PipeRoute
from mrsm_jupyter.jupyter.server.wire import WireFormatError, decode_bound, encode_bound
from mrsm_jupyter.pipes.bounds import Bound
from mrsm_jupyter.pipes.pipe import Pipe
from mrsm_jupyter.pipes.verify import VerifyResult

DEFAULT_BUCKETS = 24
MAX_BUCKETS = 100


def bucket_edges(oldest: datetime | int, newest: datetime | int, buckets: int) -> list[datetime | int]:
    """``buckets + 1`` increasing edges from ``oldest`` to just past ``newest``, so that the
    half-open spans ``[edge[i], edge[i + 1])`` cover every row once.

    >>> bucket_edges(0, 9, 5)
    [0, 2, 4, 6, 8, 10]
    """
    if isinstance(oldest, int) and isinstance(newest, int):
        width = max(1, -(-(newest + 1 - oldest) // buckets))
        return [oldest + i * width for i in range(buckets + 1)]
    if isinstance(oldest, datetime) and isinstance(newest, datetime):
        span = newest + timedelta(microseconds=1) - oldest
        edges: list[datetime | int] = [oldest + span * i / buckets for i in range(buckets)]
        return [*edges, newest + timedelta(microseconds=1)]
    raise TypeError(f"mixed datetime axis values {oldest!r} and {newest!r}")


def rowcount_buckets(pipe: Pipe, buckets: int) -> RowcountBuckets:
    """The pipe's rows counted in ``buckets`` equal spans between its oldest and newest rows."""
    oldest: Bound = pipe.get_sync_time(newest=False)
    newest: Bound = pipe.get_sync_time()
    if oldest is None or newest is None:
        return RowcountBuckets(begin=None, end=None, counts=[])
    if not pipe.columns.get("datetime"):
        raise PipeError(pipe, "has no datetime column to bucket rows by.", "Set columns={'datetime': ...}.")
    edges = bucket_edges(oldest, newest, buckets)
    counts = [pipe.get_rowcount(begin=lo, end=hi) for lo, hi in itertools.pairwise(edges)]
    return RowcountBuckets(begin=encode_bound(edges[0]), end=encode_bound(edges[-1]), counts=counts)


def verify_info(result: VerifyResult) -> VerifyResultInfo:
    return VerifyResultInfo(
        pipe=result.pipe,
        chunks=result.chunks,
        chunks_changed=result.chunks_changed,
        inserted=result.inserted,
        updated=result.updated,
        deleted=result.deleted,
        duration=result.duration,
        success=result.success,
        message=result.message,
    )


class RowcountBucketsHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "Rows per equal time bucket between the oldest and newest rows (a sparkline).",
            response=RowcountBuckets,
            query=(*PIPE, Query("buckets", f"How many buckets (1 to {MAX_BUCKETS}).", int)),
        )
    )
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        buckets = self.query_int("buckets", DEFAULT_BUCKETS, 1, MAX_BUCKETS) or DEFAULT_BUCKETS
        self.send_json(await self.call(lambda: rowcount_buckets(pipe, buckets)))


class VerifyHandler(PipeRoute):
    @web.authenticated
    @authorized_to("execute")
    @operation(
        Operation(
            "Compare the pipe with its source and re-sync only what changed, on the server.",
            response=VerifyResultInfo,
            request=VerifyRequest,
            query=PIPE,
        )
    )
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        body = self.body_object()
        begin, end = decode_bound(body.get("begin"), "begin"), decode_bound(body.get("end"), "end")
        deletes = body.get("deletes")
        if deletes is not None and not isinstance(deletes, bool):
            raise WireFormatError("deletes must be true, false or null.")
        result = await self.call(lambda: pipe.verify(begin=begin, end=end, deletes=deletes))
        self.send_json(verify_info(result))
