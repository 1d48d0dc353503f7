"""How values travel between the server extension and the ``api:`` connector.

Shared by both sides (no tornado here): bounds, JSON values, Arrow IPC streams and pipe keys
in URL paths. Decoding fails with :class:`WireFormatError`, which the server answers with 400.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.errors import MrsmError
from mrsm_jupyter.jupyter.server.payloads import FingerprintSpecInfo, GridInfo, WireBound
from mrsm_jupyter.pipes.bounds import Bound
from mrsm_jupyter.pipes.fingerprint import FingerprintSpec, Grid

_INTEGER = re.compile(r"-?\d{1,19}")
# A location key of None is spelled "None" in paths, as Meerschaum's API does.
NONE_LOCATION = "None"


class WireFormatError(MrsmError, ValueError):
    """A value in a request or an answer cannot be read (bad JSON, bound, cursor or body)."""


def encode_bound(value: datetime | date | str | int | None) -> WireBound:
    """A bound as it travels: ISO 8601 text for datetimes, an integer for integer axes."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def decode_bound(value: object, what: str = "bound") -> Bound | str:
    """A bound from a request: integers stay integers, text must be ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise WireFormatError(f"{what} must be an ISO 8601 datetime or an integer, got {value!r}.")
    if isinstance(value, int):
        return value
    if _INTEGER.fullmatch(value):
        return int(value)
    try:
        datetime.fromisoformat(value)
    except ValueError as exc:
        raise WireFormatError(f"{what} {value[:80]!r} is not an ISO 8601 datetime or an integer.") from exc
    return value


def decode_sync_time(value: WireBound) -> Bound:
    """A sync time from an answer, naive or aware exactly as the server had it."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def to_json_value(value: Any) -> Any:
    """A JSON-ready copy: datetimes as ISO text, decimals as text, bytes as base64, NaN as null."""
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return str(value)


def dumps(value: Any, *, ready: bool = False) -> str:
    """Strict JSON (no NaN) of any payload; ``ready`` when it holds JSON values only already."""
    return json.dumps(value if ready else to_json_value(value), allow_nan=False, ensure_ascii=False)


def loads_json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WireFormatError(f"{what} is not valid JSON ({exc}).") from exc


def loads_object(text: str | bytes | None, what: str) -> dict[str, Any] | None:
    """A JSON object (or nothing) from a request."""
    if text is None or text in ("", b""):
        return None
    value = loads_json(text, what)
    if value is not None and not isinstance(value, dict):
        raise WireFormatError(f"{what} must be a JSON object, got {type(value).__name__}.")
    return value


def _json_column(column: pa.ChunkedArray) -> list[Any]:
    """One column as JSON-ready values, converted a column at a time where Arrow can."""
    typ = column.type
    if pa.types.is_timestamp(typ):
        iso = "%Y-%m-%dT%H:%M:%S" + ("Z" if typ.tz else "")
        values: list[Any] = pc.strftime(column, format=iso).to_pylist()
        return values
    if pa.types.is_integer(typ) or pa.types.is_boolean(typ) or pa.types.is_string(typ):
        return column.to_pylist()  # type: ignore[no-any-return]
    if pa.types.is_floating(typ):
        return [None if v is None or math.isnan(v) or math.isinf(v) else v for v in column.to_pylist()]
    return to_json_value(column.to_pylist())  # type: ignore[no-any-return]


def table_to_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of an Arrow table as JSON-ready dicts (datetimes as ISO 8601, UTC as ``Z``)."""
    table = utc_timestamps(table)
    columns = [_json_column(column) for column in table.columns]
    return [dict(zip(table.column_names, values, strict=True)) for values in zip(*columns, strict=True)]


def utc_timestamps(table: pa.Table) -> pa.Table:
    """One spelling of UTC on the wire, whatever the engine said (DuckDB says ``Etc/UTC``)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz not in (None, "UTC"):
            utc = pa.timestamp(field.type.unit, "UTC")
            table = table.set_column(i, field.name, table.column(i).cast(utc))
    return table


def table_to_ipc(table: pa.Table) -> bytes:
    """An Arrow IPC stream holding the table (timestamps in UTC)."""
    table = utc_timestamps(table)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def ipc_to_table(data: bytes) -> pa.Table:
    try:
        with pa.ipc.open_stream(data) as reader:
            return reader.read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise WireFormatError(f"the body is not an Arrow IPC stream ({exc}).") from exc


def pipe_path(connector_keys: str, metric_key: str, location_key: str | None) -> str:
    """``pipes/<connector>/<metric>/<location>``, each key percent-encoded (``/`` too)."""
    parts: Sequence[str] = (connector_keys, metric_key, location_key or NONE_LOCATION)
    return "pipes/" + "/".join(quote(part, safe="") for part in parts)


def encode_spec(spec: FingerprintSpec) -> FingerprintSpecInfo:
    return FingerprintSpecInfo(
        columns=[[name, dtype] for name, dtype in spec.columns],
        datetime_column=spec.datetime_column,
        key_columns=list(spec.key_columns),
    )


def decode_spec(value: object) -> FingerprintSpec:
    """A fingerprint spec from a request; every name a string, every pair ``[name, dtype]``."""
    try:
        info: dict[str, Any] = value  # type: ignore[assignment]
        pairs = [(str(n), str(d)) for n, d in info["columns"]]
        dt = info.get("datetime_column")
        keys = tuple(str(k) for k in info.get("key_columns") or [])
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise WireFormatError(
            "spec must be {'columns': [[name, dtype], ...], 'datetime_column': ..., 'key_columns': [...]}."
        ) from exc
    return FingerprintSpec(tuple(pairs), None if dt is None else str(dt), keys)


def encode_grid(grid: Grid | None) -> GridInfo | None:
    return None if grid is None else GridInfo(origin=grid.origin, width=grid.width, buckets=grid.buckets)


def decode_grid(value: object) -> Grid | None:
    if value is None:
        return None
    try:
        info: dict[str, Any] = value  # type: ignore[assignment]
        grid = Grid(int(info["origin"]), int(info["width"]), int(info["buckets"]))
    except (TypeError, KeyError, ValueError) as exc:
        raise WireFormatError("grid must be {'origin': int, 'width': int, 'buckets': int}.") from exc
    if grid.width < 1 or grid.buckets < 1:
        raise WireFormatError("grid width and buckets must be positive.")
    return grid
