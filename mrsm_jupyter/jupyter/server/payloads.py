"""Request and response payloads of the REST API, declared once.

The OpenAPI document (:mod:`.openapi`) is generated from these types, the ``api:``
connector decodes answers with them, and ``labextension/src/api.ts`` mirrors them.
Bounds travel as ISO 8601 strings (datetime axes) or integers (integer axes).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

WireBound: TypeAlias = str | int | None
ARROW_STREAM = "application/vnd.apache.arrow.stream"
# Headers of an Arrow page (a JSON page carries the same facts in its body).
NEXT_CURSOR_HEADER = "X-Mrsm-Next-Cursor"
ROW_COUNT_HEADER = "X-Mrsm-Row-Count"


class InstanceInfo(TypedDict):
    """An instance connector, e.g. ``{"keys": "sql:local", "flavor": "duckdb"}``."""

    keys: str
    flavor: str


class ConnectorInfo(TypedDict):
    """A configured connector; passwords, tokens and secrets are replaced by ``***``."""

    keys: str
    type: str
    label: str
    uri: str | None
    attributes: dict[str, Any]


class PipeInfo(TypedDict):
    """A pipe's identity on its instance, with its row count when asked for."""

    connector_keys: str
    metric_key: str
    location_key: str | None
    instance_keys: str
    rowcount: NotRequired[int]


class PipeDetail(TypedDict):
    """One registered pipe: identity, parameters and where its rows live."""

    connector_keys: str
    metric_key: str
    location_key: str | None
    instance_keys: str
    parameters: dict[str, Any]
    target: str
    tags: list[str]
    columns: dict[str, str]


class RegisterRequest(TypedDict):
    connector_keys: str
    metric_key: str
    location_key: NotRequired[str | None]
    instance_keys: NotRequired[str | None]
    parameters: NotRequired[dict[str, Any]]


class EditRequest(TypedDict):
    """The pipe's whole parameters (they replace the stored ones)."""

    parameters: dict[str, Any]


class ClearRequest(TypedDict, total=False):
    """Rows to clear: ``begin <= datetime < end`` matching ``params``."""

    begin: WireBound
    end: WireBound
    params: dict[str, Any] | None


class SyncRequest(TypedDict, total=False):
    """Fetch from the pipe's source in ``[begin, end)`` and merge (server side)."""

    begin: WireBound
    end: WireBound


class ColumnsTypes(TypedDict):
    """Column name -> canonical dtype (empty when the table does not exist)."""

    columns: dict[str, str]


class RowcountInfo(TypedDict):
    rowcount: int


class SyncTimeInfo(TypedDict):
    sync_time: WireBound


class ExistsInfo(TypedDict):
    exists: bool


class DistinctInfo(TypedDict):
    values: list[Any]


class DataPage(TypedDict):
    """One page of rows in key order; pass ``next_cursor`` back to get the next page."""

    columns: list[str]
    dtypes: dict[str, str]
    rows: list[dict[str, Any]]
    row_count: int
    next_cursor: str | None


class SyncResultInfo(TypedDict):
    """What a sync did; ``dtypes`` are the dtypes the registration records afterwards."""

    pipe: str
    inserted: int
    updated: int
    unchanged: int
    duration: float
    batches: int
    columns_added: list[str]
    columns_widened: list[str]
    created_table: bool
    success: bool
    message: str
    dtypes: dict[str, str]


class VerifyRequest(TypedDict, total=False):
    """Compare ``[begin, end)`` (default: the whole pipe) with the source; ``deletes`` also
    removes rows the source no longer has (default: the pipe's ``verify.deletes``)."""

    begin: WireBound
    end: WireBound
    deletes: bool | None


class VerifyResultInfo(TypedDict):
    """What a verify compared and re-synced."""

    pipe: str
    chunks: int
    chunks_changed: int
    inserted: int
    updated: int
    deleted: int
    duration: float
    success: bool
    message: str


class RowcountBuckets(TypedDict):
    """Rows per equal span of ``[begin, end)`` of the datetime axis, oldest first (a sparkline).

    ``begin`` and ``end`` are null and ``counts`` empty when the pipe has no rows."""

    begin: WireBound
    end: WireBound
    counts: list[int]


class ActionInfo(TypedDict):
    pipe: str
    action: str
    rows: int | None
    success: bool
    message: str


class ErrorInfo(TypedDict):
    """Every 4xx answer. ``type`` names the exception class of ``mrsm_jupyter.errors``."""

    error: str
    message: str
    type: str
    pipe: str | None
    problem: NotRequired[str]
    remedy: NotRequired[str]
    job: NotRequired[str]


class JobResultInfo(TypedDict):
    ok: bool
    exit_code: int | None
    message: str


class JobInfo(TypedDict):
    name: str
    kind: str
    state: str
    argv: list[str]
    schedule: str | None
    restart: str
    pid: int | None
    started: str | None
    ended: str | None
    next_run: str | None
    runs: int
    last_result: JobResultInfo | None


class JobCreateRequest(TypedDict):
    """Exactly one of ``action``, ``command`` or ``code``; the job starts at once."""

    name: str
    action: NotRequired[list[str]]
    command: NotRequired[list[str]]
    code: NotRequired[str]
    schedule: NotRequired[str | None]
    restart: NotRequired[Literal["always", "on-failure", "never"]]


class JobLogs(TypedDict):
    name: str
    lines: list[str]


class FingerprintSpecInfo(TypedDict):
    """What a fingerprint covers (``pipes/fingerprint.py``): ``[name, canonical dtype]`` pairs
    sorted by name, the datetime column, and the other key columns."""

    columns: list[list[str]]
    datetime_column: str | None
    key_columns: list[str]


class GridInfo(TypedDict):
    """Leaves of a window: time slots of ``width`` from ``origin``, by ``buckets`` key buckets."""

    origin: int
    width: int
    buckets: int


class FingerprintRequest(TypedDict):
    """A verify's question about the rows in ``[begin, end)``: their fingerprint, their leaves'
    (``grid``), or the rows themselves (only those in ``leaves``, only ``columns``)."""

    spec: FingerprintSpecInfo
    begin: NotRequired[WireBound]
    end: NotRequired[WireBound]
    grid: NotRequired[GridInfo | None]
    leaves: NotRequired[list[int] | None]
    columns: NotRequired[list[str] | None]


class FingerprintInfo(TypedDict):
    """Row count and hash sum of a window, its extreme axis values, and how many key buckets
    its rows fill."""

    rows: int
    total: int
    low: int | None
    high: int | None
    key_spread: int


class LeavesInfo(TypedDict):
    """One entry per non-empty leaf: its id, row count and hash sum."""

    leaves: list[int]
    rows: list[int]
    sums: list[int]
