"""The ``api:`` side of a verify: fingerprints computed by the remote server's instance
(``jupyter/server/fingerprints.py``), so that only the rows of changed leaves travel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx
import pyarrow as pa

from mrsm_jupyter.jupyter.server.payloads import FingerprintInfo, FingerprintRequest, LeavesInfo
from mrsm_jupyter.jupyter.server.wire import encode_bound, encode_grid, encode_spec, ipc_to_table
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.fingerprint import Fingerprint, FingerprintSpec, Grid, leaves_table

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.api import APIConnector
    from mrsm_jupyter.pipes.pipe import Pipe


class APIFingerprints:
    """One side of a verify answered by a remote server (see ``pipes/fingerprint.py``)."""

    def __init__(self, connector: APIConnector, pipe: Pipe) -> None:
        self.connector = connector
        self.pipe = pipe
        self.bytes_read = 0
        self._names: list[str] | None = None

    def _ask(self, suffix: str, body: FingerprintRequest) -> httpx.Response:
        return self.connector.post_pipe(self.pipe, suffix, body)

    @staticmethod
    def _request(window: Window, spec: FingerprintSpec, grid: Grid | None = None) -> FingerprintRequest:
        return FingerprintRequest(
            spec=encode_spec(spec),
            begin=encode_bound(window.begin),
            end=encode_bound(window.end),
            grid=encode_grid(grid),
        )

    def column_names(self, window: Window) -> list[str]:
        if self._names is None:
            self._names = list(self.connector.get_columns_types(self.pipe))
        return self._names

    def summary(self, window: Window, spec: FingerprintSpec) -> Fingerprint:
        info: FingerprintInfo = self._ask("/fingerprint", self._request(window, spec)).json()
        return Fingerprint(info["rows"], info["total"], info["low"], info["high"], info["key_spread"])

    def leaves(self, window: Window, spec: FingerprintSpec, grid: Grid) -> pa.Table:
        info: LeavesInfo = self._ask("/fingerprint/leaves", self._request(window, spec, grid)).json()
        columns = {"mrsm_leaf": info["leaves"], "mrsm_n": info["rows"], "mrsm_sum": info["sums"]}
        return leaves_table(pa.table({k: pa.array(v, pa.int64()) for k, v in columns.items()}))

    def rows(
        self,
        window: Window,
        spec: FingerprintSpec,
        grid: Grid | None,
        leaves: Sequence[int] | None,
        columns: Sequence[str] | None,
    ) -> pa.Table:
        body = self._request(window, spec, grid)
        body["leaves"] = None if leaves is None else [int(i) for i in leaves]
        body["columns"] = None if columns is None else list(columns)
        table = ipc_to_table(self._ask("/fingerprint/rows", body).content)
        self.bytes_read += table.nbytes
        return table
