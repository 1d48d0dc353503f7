"""InfluxDBConnector: the instance contract on an InfluxDB 1.x database, and a source of
measurements (``source.py``).

A sync reads the stored points in the batch's time span, compares them with the batch
(``changes.py``) and writes only new and changed points, so that the counts it reports
are what happened. InfluxDB has no transactions: a batch refused halfway leaves the
points written before; syncing it again is harmless. One writer per pipe at a time on
this machine (a lock file), as for SQLite and DuckDB.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from filelock import FileLock, Timeout

from mrsm_jupyter.config import root_dir
from mrsm_jupyter.connectors.influxdb import source
from mrsm_jupyter.connectors.influxdb.changes import diff
from mrsm_jupyter.connectors.influxdb.client import Address, InfluxDBClient, InfluxDBError
from mrsm_jupyter.connectors.influxdb.influxql import (
    TIME,
    Where,
    aggregate,
    quote,
    select,
)
from mrsm_jupyter.connectors.influxdb.layout import RESERVED, ROW, Layout
from mrsm_jupyter.connectors.influxdb.lineprotocol import LineProtocolError, bodies, check_names
from mrsm_jupyter.connectors.influxdb.registrations import REGISTRY, Registry
from mrsm_jupyter.connectors.influxdb.runs import RunLog
from mrsm_jupyter.connectors.influxdb.storage import FIELD_TYPES, time_from_ns
from mrsm_jupyter.connectors.instance import InstanceConnector, Params, PipeKeys
from mrsm_jupyter.diagnostics.records import RUNS_TABLE, RunRecord
from mrsm_jupyter.errors import LockTimeoutError, PipeError, SyncError
from mrsm_jupyter.pipes.bounds import Bound, Window
from mrsm_jupyter.pipes.dtypes import meerschaum_name
from mrsm_jupyter.pipes.result import SyncResult
from mrsm_jupyter.pipes.schema import plan_schema

if TYPE_CHECKING:
    from mrsm_jupyter.pipes.pipe import Pipe

LOCK_TIMEOUT_SECONDS = 60.0
_DELETES_PER_REQUEST = 200


class InfluxDBConnector(InstanceConnector):
    """An InfluxDB 1.x database as a pipe instance and as a source of measurements."""

    type = "influxdb"

    def __init__(self, label: str, attrs: Mapping[str, Any]) -> None:
        self.label = label
        self.address = Address.of(f"influxdb:{label}", attrs)
        self.client = InfluxDBClient(self.keys, self.address, float(attrs.get("timeout", 300)))
        self.registry = Registry(self.client)
        self.runs = RunLog(self.client)
        self.write_bytes = int(attrs.get("write_bytes", 4 * 1024 * 1024))

    def __repr__(self) -> str:
        return (
            f"InfluxDBConnector('influxdb:{self.label}', '{self.address.base_url}/{self.address.database}')"
        )

    def close(self) -> None:
        self.client.close()

    # Registrations.
    def register_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe):
            if self.registry.lookup(pipe) is None:
                self.registry.insert(pipe)

    def get_pipe_parameters(self, pipe: Pipe) -> dict[str, Any] | None:
        return self.registry.lookup(pipe)

    def edit_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe):
            if self.registry.lookup(pipe) is None:
                raise PipeError(
                    pipe, "is not registered, so it cannot be edited.", "Call pipe.register() first."
                )
            self.registry.update_parameters(pipe)

    def delete_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe):
            self._drop_measurement(pipe.target)
            self.registry.delete(pipe)

    def fetch_pipes_keys(
        self,
        connector_keys: Sequence[str | None],
        metric_keys: Sequence[str | None],
        location_keys: Sequence[str | None],
        tags: Sequence[str],
    ) -> list[PipeKeys]:
        return self.registry.keys(connector_keys, metric_keys, location_keys, tags)

    # Measurements.
    def stored_columns(self, measurement: str) -> tuple[dict[str, str], list[str]]:
        """The measurement's fields (with InfluxDB's type names) and tags."""
        name = quote(measurement)
        fields: dict[str, str] = {}
        tags: list[str] = []
        for series in self.client.query(f"SHOW FIELD KEYS FROM {name}; SHOW TAG KEYS FROM {name}"):
            if series.columns[0] == "fieldKey":
                fields.update({str(k): str(t) for k, t in series.values})
            else:
                tags.extend(str(k) for (k,) in series.values)
        return fields, tags

    def measurements(self) -> list[str]:
        """Measurements in the database (the pipes' included; not the registrations' or runs')."""
        names = [str(row[0]) for series in self.client.query("SHOW MEASUREMENTS") for row in series.values]
        return [name for name in names if name not in (REGISTRY, RUNS_TABLE)]

    def get_columns_types(self, pipe: Pipe) -> dict[str, str]:
        fields, tags = self.stored_columns(pipe.target)
        if not fields:
            return {}
        declared = pipe.dtypes
        dt = pipe.columns.get("datetime")
        found = {tag: declared.get(tag, "str") for tag in tags}
        found |= {f: declared.get(f, FIELD_TYPES.get(t, "str")) for f, t in fields.items() if f != ROW}
        order = {name: i for i, name in enumerate(declared)}
        types = {dt: declared.get(dt, "datetime")} if dt else {}
        return types | dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))

    def pipe_exists(self, pipe: Pipe) -> bool:
        return bool(self.stored_columns(pipe.target)[0])

    def _layout(self, pipe: Pipe, types: Mapping[str, str]) -> Layout:
        dt = pipe.columns.get("datetime")
        if not dt:
            raise PipeError(
                pipe,
                f"has no datetime column, and {self.keys} (InfluxDB) stores every row at a time.",
                "Set columns={'datetime': ..., 'id': ...} on the pipe.",
            )
        tags = tuple(k for k in pipe.key_columns if k != dt)
        return Layout(pipe.target, dt, tags, dict(types))

    def _drop_measurement(self, measurement: str) -> None:
        try:
            self.client.query(f"DROP MEASUREMENT {quote(measurement)}")
        except InfluxDBError as exc:
            if "not found" not in exc.detail:
                raise

    # Writing.
    def _lock(self, pipe: Pipe) -> FileLock:
        identity = repr((self.address, pipe.connector_keys, pipe.metric_key, pipe.location_key))
        (root_dir() / "locks").mkdir(exist_ok=True)
        return FileLock(root_dir() / "locks" / f"{hashlib.sha256(identity.encode()).hexdigest()[:24]}.lock")

    @contextmanager
    def _locked(self, pipe: Pipe) -> Iterator[None]:
        """One writer per pipe: threads, processes and kernels on this machine."""
        try:
            with self._lock(pipe).acquire(timeout=LOCK_TIMEOUT_SECONDS):
                yield
        except Timeout as exc:
            raise LockTimeoutError(
                pipe,
                f"another writer held it for over {LOCK_TIMEOUT_SECONDS:.0f} s.",
                "Wait for that sync to finish and sync again.",
            ) from exc

    def _remember_dtypes(self, pipe: Pipe, types: Mapping[str, str]) -> None:
        """Register the pipe if needed and record every column's dtype with it."""
        registered = self.registry.lookup(pipe) is not None
        known = pipe.dtypes
        new = {c: meerschaum_name(d) for c, d in types.items() if known.get(c) != d}
        if new:
            pipe.parameters.setdefault("dtypes", {}).update(new)
        if not registered:
            self.registry.insert(pipe)
        elif new:
            self.registry.update_parameters(pipe)

    def _check_batch(self, pipe: Pipe, layout: Layout, batch: pa.Table) -> None:
        if layout.time not in batch.column_names:
            raise PipeError(
                pipe,
                f"the batch has no datetime column {layout.time!r}.",
                "Add it: InfluxDB needs a time per row.",
            )
        reserved = [c for c in batch.column_names if c in RESERVED and c != layout.time]
        if reserved:
            raise PipeError(
                pipe,
                f"the column name {reserved[0]!r} is reserved by InfluxDB (or by {self.keys}).",
                "Rename the column.",
            )
        try:
            check_names([layout.measurement, *batch.column_names])
        except LineProtocolError as exc:
            raise PipeError(pipe, f"{exc}.", "Rename it (or give the pipe another target=...).") from exc

    def sync_pipe(self, pipe: Pipe, batch: pa.Table) -> SyncResult:
        started = time.perf_counter()
        result = SyncResult(str(pipe), batches=1)
        with self._locked(pipe):
            current = self.get_columns_types(pipe)
            plan = plan_schema(batch, current, pipe.dtypes, pipe.static, pipe)
            layout = self._layout(pipe, {**current, **plan.columns_types})
            self._check_batch(pipe, layout, plan.batch)
            result.columns_added, result.columns_widened = list(plan.add), list(plan.widen)
            try:
                rewritten = self._read_all(pipe, current) if plan.widen else None
                self._remember_dtypes(pipe, layout.dtypes)
                if rewritten is not None:  # a field's type cannot change in place: write it anew
                    self._drop_measurement(layout.measurement)
                    self._write(layout, layout.to_storage(rewritten))
                self._merge(layout, layout.to_storage(plan.batch), bool(current), result)
            except (InfluxDBError, LineProtocolError) as exc:
                raise SyncError(
                    pipe,
                    f"{self.keys} refused the batch ({exc}).",
                    "InfluxDB has no transactions: points written before the refusal stay. "
                    "Fix the batch and sync it again.",
                ) from exc
        result.duration = time.perf_counter() - started
        return result

    def _read_all(self, pipe: Pipe, types: Mapping[str, str]) -> pa.Table:
        layout = self._layout(pipe, types)
        return layout.from_storage(self._read_stored(layout, None, Where()), list(types))

    def _merge(self, layout: Layout, stored: pa.Table, exists: bool, result: SyncResult) -> None:
        if not stored.num_rows:
            return
        if not exists:
            self._write(layout, stored)
            result.created_table, result.inserted = True, stored.num_rows
            return
        span = pc.min_max(stored.column(TIME)).as_py()
        where = Where().time_window(span["min"], span["max"] + 1)
        existing = self._read_stored(layout, None, where)
        changes = diff(stored, existing, layout.keys)
        lines = layout.lines(changes.write)  # built (and checked) before anything is deleted
        if changes.cleared.num_rows:
            self._delete_points(layout, changes.cleared)
        if len(lines):
            self.client.write(bodies(lines, self.write_bytes))
        result.inserted, result.updated, result.unchanged = (
            changes.inserted,
            changes.updated,
            changes.unchanged,
        )

    def _write(self, layout: Layout, stored: pa.Table) -> None:
        if stored.num_rows:
            self.client.write(bodies(layout.lines(stored), self.write_bytes))

    def _delete_points(self, layout: Layout, keys: pa.Table) -> None:
        for statements, params in layout.deletes(keys, _DELETES_PER_REQUEST):
            self.client.query(statements, params)

    # Reading.
    def _read_stored(
        self,
        layout: Layout,
        columns: list[str] | None,
        where: Where,
        descending: bool = False,
        limit: int | None = None,
    ) -> pa.Table:
        statement = select(layout.measurement, columns, where, descending, limit)
        return layout.read(list(self.client.stream(statement, where.params)))

    def read_pipe(
        self,
        pipe: Pipe,
        columns: Sequence[str] | None,
        window: Window,
        params: Params | None,
        order: str | None,
        limit: int | None,
    ) -> pa.Table:
        types = self.get_columns_types(pipe)
        if not types:
            return pa.table({})
        layout = self._layout(pipe, types)
        missing = [c for c in columns or [] if c not in types]
        if missing:
            raise PipeError(
                pipe, f"has no column {missing[0]!r} to select.", f"Columns are: {', '.join(types)}."
            )
        picked = None if columns is None else [ROW, *(c for c in columns if c != layout.time)]
        where = layout.where(pipe, window, params)
        stored = self._read_stored(layout, picked, where, order == "desc", limit)
        table = layout.from_storage(stored, list(columns) if columns is not None else list(types))
        keys = [k for k in pipe.key_columns if k in table.column_names]
        if order and keys and table.num_rows:
            table = table.sort_by([(k, "descending" if order == "desc" else "ascending") for k in keys])
        return table

    def _aggregate(self, pipe: Pipe, function: str, window: Window, params: Params | None) -> Any:
        types = self.get_columns_types(pipe)
        if not types:
            return None
        layout = self._layout(pipe, types)
        where = layout.where(pipe, window, params)
        answer = self.client.query(aggregate(function, ROW, layout.measurement, where), where.params)
        return answer[0].values[0] if answer and answer[0].values else None

    def get_rowcount(self, pipe: Pipe, window: Window, params: Params | None) -> int:
        row = self._aggregate(pipe, "COUNT", window, params)
        return 0 if row is None else int(row[1])

    def get_sync_time(self, pipe: Pipe, newest: bool, params: Params | None) -> Bound:
        dt = pipe.columns.get("datetime")
        row = self._aggregate(pipe, "LAST" if newest else "FIRST", Window(), params) if dt else None
        if row is None:
            return None
        times = time_from_ns(pa.array([row[0]], pa.int64()), pipe.dtypes.get(str(dt), "datetime"))
        value: Bound = times[0].as_py()
        return value

    # Maintenance.
    def clear_pipe(self, pipe: Pipe, window: Window, params: Params | None) -> int:
        types = self.get_columns_types(pipe)
        if not types:
            return 0
        layout = self._layout(pipe, types)
        if any(c not in layout.tags and c != layout.time for c in params or {}):
            # DELETE filters on time and tags only: find the matching points' keys first.
            keys = self.read_pipe(pipe, [layout.time, *layout.tags], window, params, None, None)
            return self.delete_pipe_rows(pipe, keys)
        with self._locked(pipe):
            where = layout.where(pipe, window, params)
            answer = self.client.query(aggregate("COUNT", ROW, layout.measurement, where), where.params)
            rows = int(answer[0].values[0][1]) if answer and answer[0].values else 0
            self.client.query(f"DELETE FROM {quote(layout.measurement)}{where.sql()}", where.params)
        return rows

    def delete_pipe_rows(self, pipe: Pipe, keys: pa.Table) -> int:
        """Delete the points whose time and tags equal a row of ``keys``; return how many were stored."""
        types = self.get_columns_types(pipe)
        if not keys.num_rows or not types:
            return 0
        layout = self._layout(pipe, types)
        with self._locked(pipe):
            stored = layout.to_storage(
                keys.select([c for c in keys.column_names if c in (layout.time, *layout.tags)])
            )
            span = pc.min_max(stored.column(TIME)).as_py()
            existing = self._read_stored(layout, None, Where().time_window(span["min"], span["max"] + 1))
            found = stored.join(
                existing.select(stored.column_names), keys=stored.column_names, join_type="inner"
            )
            self._delete_points(layout, stored)
        return int(found.num_rows)

    def drop_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe):
            self._drop_measurement(pipe.target)

    def deduplicate_pipe(self, pipe: Pipe) -> int:
        """Nothing to do: InfluxDB keeps one point per time and tags, the pipe's keys."""
        if not pipe.key_columns:
            raise PipeError(
                pipe,
                "has no key columns, so rows cannot be told apart.",
                "Set columns={'datetime': ..., 'id': ...} first.",
            )
        return 0

    # Diagnostics.
    def record_run(self, run: RunRecord) -> None:
        """One point in the measurement ``mrsm_runs`` (see ``runs.py``)."""
        self.runs.record(run)

    def read_runs(self, window: Window, kinds: Sequence[str] | None, limit: int | None) -> pa.Table:
        return self.runs.read(window, kinds, limit)

    # As a source.
    def fetch(self, pipe: Pipe, window: Window) -> Iterator[pa.Table]:
        """Rows of the measurement named by ``fetch.measurement`` in ``[begin, end)``."""
        return source.fetch_measurement(self, pipe, window)

    def fetch_suggestions(self) -> dict[str, str]:
        """Fetch texts to start from, by label: the database's measurements."""
        return {f"measurement {name}": name for name in self.measurements()}

    def fetch_preview(self, pipe: Pipe, limit: int) -> pa.Table:
        """The first ``limit`` rows of the measurement, e.g. for a wizard."""
        return source.preview_measurement(self, pipe, limit)
