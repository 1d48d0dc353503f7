"""A measurement as a pipe's source: its fields and tags between ``begin`` and ``end``.

>>> parameters = {"fetch": {
...     "measurement": "cpu",           # required
...     "fields": ["usage_user"],       # default: every field
...     "tags": ["host"],               # default: every tag
...     "where": {"region": ["eu", "us"]},  # tags, with the params grammar
...     "backtrack_minutes": 10,
... }}

Rows come in chunks of about ``ROWS_PER_BATCH`` (each merged in its own transaction);
``time`` is named after the pipe's datetime column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mrsm_jupyter.connectors.influxdb.client import Series
from mrsm_jupyter.connectors.influxdb.influxql import TIME, Where, select
from mrsm_jupyter.connectors.influxdb.storage import FIELD_TYPES, STORAGE, bound_to_ns, rows_to_table
from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.pipes.bounds import Window

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.influxdb.connector import InfluxDBConnector
    from mrsm_jupyter.pipes.pipe import Pipe

ROWS_PER_BATCH = 100_000


def _spec(connector: InfluxDBConnector, pipe: Pipe) -> dict[str, Any]:
    spec = pipe.parameters.get("fetch") or {}
    if not isinstance(spec, dict) or not spec.get("measurement"):
        raise PipeError(
            pipe,
            f"has no measurement to fetch from {connector.keys}.",
            "Name it: parameters={'fetch': {'measurement': 'cpu'}} (optionally 'fields', 'tags', 'where').",
        )
    return spec


def _picked(pipe: Pipe, wanted: Any, stored: list[str], what: str) -> list[str]:
    if wanted is None:
        return stored
    missing = [name for name in wanted if name not in stored]
    if missing:
        raise PipeError(
            pipe,
            f"its fetch names the {what} {missing[0]!r}, which the measurement lacks.",
            f"Its {what}s: {stored}.",
        )
    return list(wanted)


def _query(
    connector: InfluxDBConnector, pipe: Pipe, window: Window, limit: int | None = None
) -> tuple[str, Where, dict[str, pa.DataType]]:
    spec = _spec(connector, pipe)
    measurement = str(spec["measurement"])
    fields, tags = connector.stored_columns(measurement)
    if not fields:
        raise PipeError(
            pipe,
            f"the measurement {measurement!r} does not exist in {connector.keys} (or has no fields).",
            "Check parameters['fetch']['measurement'].",
        )
    picked_fields = _picked(pipe, spec.get("fields"), list(fields), "field")
    picked_tags = _picked(pipe, spec.get("tags"), tags, "tag")
    kinds = {f: STORAGE[FIELD_TYPES.get(fields[f], "str")] for f in picked_fields}
    kinds |= {t: pa.string() for t in picked_tags} | {TIME: pa.int64()}
    axis = "int" if isinstance(window.begin, int) or isinstance(window.end, int) else "datetime"
    where = Where().time_window(
        None if window.begin is None else bound_to_ns(window.begin, axis),
        None if window.end is None else bound_to_ns(window.end, axis),
    )
    for tag, value in (spec.get("where") or {}).items():
        where.matching(_picked(pipe, [tag], tags, "tag")[0], value, True, str)
    return select(measurement, picked_fields + picked_tags, where, limit=limit), where, kinds


def _table(pieces: list[Series], kinds: dict[str, pa.DataType], time_column: str) -> pa.Table:
    table = pa.concat_tables([rows_to_table(p.columns, p.values, kinds) for p in pieces])
    times = (
        table.column(TIME).cast(pa.timestamp("ns", tz="UTC")).cast(pa.timestamp("us", tz="UTC"), safe=False)
    )
    return table.set_column(0, time_column, times)


def fetch_measurement(connector: InfluxDBConnector, pipe: Pipe, window: Window) -> Iterator[pa.Table]:
    """Batches of the measurement's rows in ``[begin, end)``, oldest first."""
    statement, where, kinds = _query(connector, pipe, window)
    time_column = pipe.columns.get("datetime") or TIME
    pending: list[Series] = []
    rows = 0
    for piece in connector.client.stream(statement, where.params):
        if piece.values:
            pending.append(piece)
            rows += len(piece.values)
        if rows >= ROWS_PER_BATCH:
            yield _table(pending, kinds, time_column)
            pending, rows = [], 0
    if pending:
        yield _table(pending, kinds, time_column)


def preview_measurement(connector: InfluxDBConnector, pipe: Pipe, limit: int) -> pa.Table:
    """The measurement's oldest ``limit`` rows."""
    statement, where, kinds = _query(connector, pipe, Window(), limit)
    pieces = [p for p in connector.client.stream(statement, where.params) if p.values]
    if not pieces:
        return pa.table({pipe.columns.get("datetime") or TIME: pa.array([], pa.timestamp("us", tz="UTC"))})
    return _table(pieces, kinds, pipe.columns.get("datetime") or TIME)
