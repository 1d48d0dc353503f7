"""Run records in ``mrsm_runs``, next to ``mrsm_pipes``: one INSERT per run, read by window."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pyarrow as pa

from mrsm_jupyter.connectors.sql.database import Database
from mrsm_jupyter.diagnostics.records import RUN_COLUMNS, RUNS_SCHEMA, RUNS_TABLE, RunRecord
from mrsm_jupyter.pipes.bounds import Window


class RunLog:
    """Writes and reads rows of ``mrsm_runs``; the table is created on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.flavor = db.flavor
        self.table = self.flavor.quote(RUNS_TABLE)
        self._insert = self.flavor.insert_row(self.table, list(RUN_COLUMNS))
        self._ready = False
        self._ready_lock = threading.Lock()

    def ensure(self) -> RunLog:
        if self._ready:
            return self
        with self._ready_lock:
            if not self._ready:
                with self.db.transaction() as s:
                    for statement in self.flavor.create_runs_table(self.table, RUNS_TABLE, RUN_COLUMNS):
                        s.execute(statement)
                self._ready = True
        return self

    def record(self, run: RunRecord) -> None:
        """One INSERT in its own short transaction, right after the run's own commit."""
        self.ensure()
        values = {c: self.flavor.bind_value(v, RUN_COLUMNS[c]) for c, v in run.values().items()}
        with self.db.transaction() as s:
            for statement in self.flavor.run_record_prelude:
                s.execute(statement)
            s.execute(self._insert, values)

    def read(self, window: Window, kinds: Sequence[str] | None, limit: int | None) -> pa.Table:
        """Runs that started in ``window``, oldest first (the newest ``limit`` when given)."""
        self.ensure()
        params = {"kind": list(kinds)} if kinds else None
        where, bound = self.flavor.where("started", window.begin, window.end, params, RUN_COLUMNS)
        sql = self.flavor.select(self.table, list(RUN_COLUMNS), where, ["started"], True, limit)
        with self.db.session() as s:
            table = s.fetch_arrow(sql, bound, RUN_COLUMNS)
        # Drivers answer in their own types (SQLite's 0/1 booleans, MySQL's naive UTC).
        columns = [_as_type(table.column(f.name), f.type) for f in RUNS_SCHEMA]
        return pa.Table.from_arrays(columns, schema=RUNS_SCHEMA).take(
            pa.array(range(table.num_rows - 1, -1, -1), type=pa.int64())
        )


def _as_type(column: pa.ChunkedArray, typ: pa.DataType) -> pa.ChunkedArray:
    if column.type == typ:
        return column
    if pa.types.is_timestamp(typ) and pa.types.is_timestamp(column.type) and column.type.tz is None:
        return column.cast(pa.timestamp("us")).cast(typ)  # naive values are UTC
    return column.cast(typ)
