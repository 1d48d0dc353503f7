"""Run records in the measurement ``mrsm_runs``, next to ``mrsm_pipes``: one point per run.

The point's time is the run's start (microseconds) plus a few nanoseconds that tell apart the
records of one writer, and its one tag ``writer`` names a batch of at most
:data:`POINTS_PER_WRITER` records written by one connector. (time, writer) is then never
repeated, so no record overwrites another (InfluxDB keeps one point per time and tags), even
for runs that start in the same microsecond; and the series stay few (InfluxDB caps series
per database, 1 million by default), not one per run. Every other column is a field; a field
without a value is left out of the point and reads back as null.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from mrsm_jupyter.connectors.influxdb import lineprotocol
from mrsm_jupyter.connectors.influxdb.client import InfluxDBClient
from mrsm_jupyter.connectors.influxdb.influxql import TIME, Where, quote, select
from mrsm_jupyter.connectors.influxdb.storage import rows_to_table
from mrsm_jupyter.diagnostics.records import RUN_COLUMNS, RUNS_SCHEMA, RUNS_TABLE, RunRecord
from mrsm_jupyter.errors import ConnectorError
from mrsm_jupyter.pipes.bounds import Bound, Window

WRITER = "writer"
# Nanoseconds added to a microsecond start: a writer's records use each offset once.
POINTS_PER_WRITER = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_FIELDS = {name: RUNS_SCHEMA.field(name).type for name in RUN_COLUMNS if name != "started"}


class RunLog:
    """Writes and reads the points of ``mrsm_runs`` in the connector's database."""

    def __init__(self, client: InfluxDBClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._writer = ""
        self._written = POINTS_PER_WRITER

    def _next_slot(self) -> tuple[str, int]:
        """The writer tag and nanosecond offset of the next record (never used before)."""
        with self._lock:
            if self._written == POINTS_PER_WRITER:
                self._writer, self._written = uuid.uuid4().hex, 0
            slot = (self._writer, self._written)
            self._written += 1
        return slot

    def record(self, run: RunRecord) -> None:
        """Write the run as one point."""
        writer, offset = self._next_slot()
        values = run.values()
        fields = {name: pa.array([values[name]], kind) for name, kind in _FIELDS.items()}
        time = pa.array([_micros(run.started) * 1000 + offset], pa.int64())
        line = lineprotocol.lines(RUNS_TABLE, time, {WRITER: pa.array([writer])}, fields)
        self.client.write(lineprotocol.bodies(line, 1 << 20))

    def read(self, window: Window, kinds: Sequence[str] | None, limit: int | None) -> pa.Table:
        """Runs that started in ``window``, oldest first (the newest ``limit`` when given)."""
        where = Where().time_window(self._bound_ns(window.begin), self._bound_ns(window.end))
        if kinds:
            where.clauses.append(
                "(" + " OR ".join(f"{quote('kind')} = {where.bind(kind)}" for kind in kinds) + ")"
            )
        statement = select(RUNS_TABLE, None, where, limit is not None, limit)
        columns: list[str] = []
        rows: list[list[Any]] = []
        for series in self.client.stream(statement, where.params):
            columns = series.columns
            rows.extend(series.values)
        if limit is not None:
            rows.reverse()
        return _runs_table(columns, rows)

    def _bound_ns(self, bound: Bound) -> int | None:
        if bound is None:
            return None
        if not isinstance(bound, datetime):
            raise ConnectorError(
                f"{self.client.keys}: run records are read by start time, not by {bound!r}. "
                "Give the window's ends as datetimes."
            )
        return _micros(bound) * 1000


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _runs_table(columns: list[str], rows: list[list[Any]]) -> pa.Table:
    """The answer's rows (``time`` in nanoseconds, then tags and fields) as RUN_COLUMNS."""
    if not columns:
        return RUNS_SCHEMA.empty_table()
    stored = rows_to_table(columns, rows, {TIME: pa.int64(), **_FIELDS})
    starts = pa.array([ns // 1000 for ns in stored.column(TIME).to_pylist()], pa.int64())
    arrays = [
        starts.cast(field.type)
        if field.name == "started"
        else stored.column(field.name).combine_chunks()
        if field.name in stored.column_names
        else pa.nulls(len(rows), field.type)
        for field in RUNS_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=RUNS_SCHEMA)
