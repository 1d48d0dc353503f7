"""Routes a verify asks over ``api:``: fingerprints computed by the server's instance, so that
a verify (or a local cache) compares without reading the rows (``pipes/verify.py``).

Each handler decodes a :class:`FingerprintRequest` and asks the pipe's instance for its
fingerprints (``InstanceConnector.pipe_fingerprints``); none of them knows SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from jupyter_server.auth.decorator import authorized
from tornado import web

from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.jupyter.server.openapi import Operation, operation
from mrsm_jupyter.jupyter.server.payloads import (
    ARROW_STREAM,
    FingerprintInfo,
    FingerprintRequest,
    LeavesInfo,
)
from mrsm_jupyter.jupyter.server.pipes import PIPE, PipeRoute
from mrsm_jupyter.jupyter.server.wire import (
    WireFormatError,
    decode_bound,
    decode_grid,
    decode_spec,
    table_to_ipc,
)
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.fingerprint import Fingerprinter, FingerprintSpec, Grid
from mrsm_jupyter.pipes.pipe import Pipe


def fingerprints_for(pipe: Pipe, spec: FingerprintSpec) -> Fingerprinter:
    """The pipe's fingerprinter, once its table exists and every column the spec names is one
    of the pipe's (other requests are refused, not left to fail inside the database)."""
    types = pipe.get_columns_types()
    if not types:
        raise PipeError(pipe, "has no table to fingerprint yet.", "Sync rows into it first.")
    named = [name for name, _ in spec.columns] + list(spec.key_columns)
    named += [spec.datetime_column] if spec.datetime_column is not None else []
    unknown = sorted({name for name in named if name not in types})
    if unknown:
        raise WireFormatError(f"{pipe} has no column(s) {unknown} named in the spec; it has {sorted(types)}.")
    return pipe.instance_connector.pipe_fingerprints(pipe)


@dataclass(frozen=True)
class Question:
    window: Window
    spec: FingerprintSpec
    grid: Grid | None
    leaves: list[int] | None
    columns: list[str] | None


class FingerprintRoute(PipeRoute):
    def question(self) -> Question:
        """The request's window, spec, grid, leaves and columns, checked for their shapes."""
        body = self.body_object()
        begin, end = decode_bound(body.get("begin"), "begin"), decode_bound(body.get("end"), "end")
        leaves, columns = body.get("leaves"), body.get("columns")
        if leaves is not None and not (
            isinstance(leaves, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in leaves)
        ):
            raise WireFormatError("leaves must be a list of integers.")
        if columns is not None and not (
            isinstance(columns, list) and all(isinstance(c, str) for c in columns)
        ):
            raise WireFormatError("columns must be a list of column names.")
        return Question(
            Window.of(begin, end),
            decode_spec(body.get("spec")),
            decode_grid(body.get("grid")),
            leaves,
            columns,
        )


class FingerprintHandler(FingerprintRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "The fingerprint of the rows in [begin, end): count, hash sum, axis extremes, key spread.",
            response=FingerprintInfo,
            request=FingerprintRequest,
            query=PIPE,
        )
    )
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        asked = self.question()
        found = await self.call(lambda: fingerprints_for(pipe, asked.spec).summary(asked.window, asked.spec))
        self.send_json(
            FingerprintInfo(
                rows=found.rows,
                total=found.total,
                low=found.low,
                high=found.high,
                key_spread=found.key_spread,
            )
        )


class LeavesHandler(FingerprintRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "The fingerprint of each non-empty leaf of the grid in [begin, end).",
            response=LeavesInfo,
            request=FingerprintRequest,
            query=PIPE,
        )
    )
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        asked = self.question()
        grid = asked.grid
        if grid is None:
            raise WireFormatError("leaves need a grid: {'origin': ..., 'width': ..., 'buckets': ...}.")
        table = await self.call(
            lambda: fingerprints_for(pipe, asked.spec).leaves(asked.window, asked.spec, grid)
        )
        self.send_json(
            LeavesInfo(
                leaves=table.column("mrsm_leaf").to_pylist(),
                rows=table.column("mrsm_n").to_pylist(),
                sums=table.column("mrsm_sum").to_pylist(),
            )
        )


class LeafRowsHandler(FingerprintRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "The rows in [begin, end), only those in the leaves of the grid when given (Arrow IPC).",
            request=FingerprintRequest,
            query=PIPE,
            arrow_response=True,
        )
    )
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        asked = self.question()
        table = await self.call(
            lambda: fingerprints_for(pipe, asked.spec).rows(
                asked.window, asked.spec, asked.grid, asked.leaves, asked.columns
            )
        )
        self.finish(table_to_ipc(table), set_content_type=ARROW_STREAM)
