"""Routes for a pipe's rows: paged reads (JSON or Arrow IPC) and chunked writes (sync)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
from jupyter_server.auth.decorator import authorized
from tornado import web

from mrsm_jupyter.jupyter.server.openapi import Operation, Query, operation
from mrsm_jupyter.jupyter.server.paging import MAX_PAGE_BYTES, MAX_PAGE_ROWS, Page, PageRequest, read_page
from mrsm_jupyter.jupyter.server.payloads import (
    ARROW_STREAM,
    NEXT_CURSOR_HEADER,
    ROW_COUNT_HEADER,
    DataPage,
    SyncResultInfo,
)
from mrsm_jupyter.jupyter.server.pipes import PIPE, WINDOW, PipeRoute, sync_info
from mrsm_jupyter.jupyter.server.wire import (
    WireFormatError,
    ipc_to_table,
    loads_json,
    table_to_ipc,
    table_to_rows,
)
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.dtypes import dtype_of_arrow
from mrsm_jupyter.pipes.pipe import Pipe

DEFAULT_PAGE_ROWS = 10_000
DEFAULT_PAGE_BYTES = 16 * 1024 * 1024
READ_QUERY = (
    *PIPE,
    *WINDOW,
    Query("select_columns", "Only these columns.", many=True),
    Query("omit_columns", "All columns but these.", many=True),
    Query("order", "'asc' (default) or 'desc', by the datetime then the id columns."),
    Query("limit", "At most this many rows over all pages.", int),
    Query("cursor", "The next_cursor of the previous page."),
    Query("page_rows", f"Rows per page (default {DEFAULT_PAGE_ROWS}, at most {MAX_PAGE_ROWS}).", int),
    Query("page_bytes", f"Bytes per page, about (default {DEFAULT_PAGE_BYTES}).", int),
    Query("format", f"'json' (default) or 'arrow' ({ARROW_STREAM}; also chosen by Accept)."),
)


def page_payload(pipe: Pipe, page: Page) -> DataPage:
    dtypes = pipe.dtypes
    table = page.table
    return DataPage(
        columns=table.column_names,
        dtypes={f.name: dtypes.get(f.name) or dtype_of_arrow(f.type) or "str" for f in table.schema},
        rows=table_to_rows(table),
        row_count=table.num_rows,
        next_cursor=None if page.next_cursor is None else page.next_cursor.encode(),
    )


def _datetime(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise WireFormatError(f"{value[:40]!r} in the datetime column is not ISO 8601.") from exc


def parse_datetime_column(rows: list[Any] | dict[str, Any], column: str) -> None:
    """JSON has no datetimes: ISO 8601 text in the pipe's datetime column becomes datetimes."""
    if isinstance(rows, dict):
        if isinstance(rows.get(column), list):
            rows[column] = [_datetime(v) for v in rows[column]]
        return
    for row in rows:
        if column in row:
            row[column] = _datetime(row[column])


class DataHandler(PipeRoute):
    @web.authenticated
    @authorized
    @operation(
        Operation(
            "One page of rows in key order; the answer carries the cursor of the next page.",
            response=DataPage,
            query=READ_QUERY,
            arrow_response=True,
        )
    )
    async def get(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        request = await self.call(lambda: self._page_request(pipe))
        cursor = self.query("cursor")
        page = await self.call(lambda: read_page(pipe, request, cursor))
        if self._wants_arrow():
            self.set_header(ROW_COUNT_HEADER, str(page.table.num_rows))
            if page.next_cursor is not None:
                self.set_header(NEXT_CURSOR_HEADER, page.next_cursor.encode())
            self.finish(table_to_ipc(page.table), set_content_type=ARROW_STREAM)
            return
        self.send_json(await self.call(lambda: page_payload(pipe, page)), ready=True)

    def _wants_arrow(self) -> bool:
        wanted = self.query("format")
        if wanted not in (None, "json", "arrow"):
            raise WireFormatError("format must be 'json' or 'arrow'.")
        return wanted == "arrow" or (
            wanted is None and ARROW_STREAM in self.request.headers.get("Accept", "")
        )

    def _order(self) -> Literal["asc", "desc"]:
        order = self.query("order", "asc")
        if order not in ("asc", "desc"):
            raise WireFormatError("order must be 'asc' or 'desc'.")
        return "desc" if order == "desc" else "asc"

    def _page_request(self, pipe: Pipe) -> PageRequest:
        begin, end, params = self.window()
        select, omit = self.query_list("select_columns"), self.query_list("omit_columns")
        columns: list[str] | None = None
        if select or omit:
            columns = [c for c in (select or list(pipe.get_columns_types())) if c not in omit]
        return PageRequest(
            columns=columns,
            window=Window.of(begin, end),
            params=params,
            order=self._order(),
            limit=self.query_int("limit", None, 0, 2**62),
            page_rows=self.query_int("page_rows", DEFAULT_PAGE_ROWS, 1, MAX_PAGE_ROWS) or DEFAULT_PAGE_ROWS,
            page_bytes=self.query_int("page_bytes", DEFAULT_PAGE_BYTES, 1, MAX_PAGE_BYTES)
            or DEFAULT_PAGE_BYTES,
        )

    @web.authenticated
    @authorized
    @operation(
        Operation(
            "Sync one chunk of rows (an Arrow IPC stream, or JSON: a list of rows or a dict of columns).",
            response=SyncResultInfo,
            request=list[dict[str, Any]] | dict[str, list[Any]],
            query=PIPE,
            arrow_request=True,
        )
    )
    async def post(self, connector_keys: str, metric_key: str, location_key: str) -> None:
        pipe = self.pipe(connector_keys, metric_key, location_key)
        batch = await self.call(lambda: self._batch(pipe))
        result = await self.call(lambda: pipe.sync(batch))
        self.send_json(sync_info(pipe, result))

    def _batch(self, pipe: Pipe) -> pa.Table | list[Any] | dict[str, Any]:
        content_type = self.request.headers.get("Content-Type", "application/json")
        if content_type.startswith(ARROW_STREAM):
            return ipc_to_table(self.request.body)
        if not content_type.startswith("application/json"):
            raise WireFormatError(f"send rows as {ARROW_STREAM} or application/json, not {content_type!r}.")
        rows = loads_json(self.request.body, "the request body")
        if not isinstance(rows, (list, dict)) or (
            isinstance(rows, list) and not all(isinstance(r, dict) for r in rows)
        ):
            raise WireFormatError("a JSON body must be a list of rows (objects) or an object of columns.")
        dt = pipe.columns.get("datetime")
        if dt and (pipe.dtypes.get(dt) or "datetime").startswith("datetime"):
            parse_datetime_column(rows, dt)
        return rows
