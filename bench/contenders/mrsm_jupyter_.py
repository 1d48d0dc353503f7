"""mrsm_jupyter, through its public API only: ``Pipe.sync`` and ``Pipe.get_data``.

The worker's environment carries ``MRSM_JUPYTER_ROOT`` (a temp dir) and the instance URIs
``MRSM_SQL_BENCHDUCK`` / ``MRSM_SQL_BENCHPG`` that point at this run's file or database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

import mrsm_jupyter as mrsm
from bench.contenders.base import (
    DUCKDB_LABEL,
    PIPE_CONNECTOR,
    PIPE_METRIC,
    POSTGRESQL_LABEL,
    Target,
    VerifyReport,
)
from bench.verify_source import SOURCE_LABEL, values_of
from bench.workload import DATETIME_COLUMN, ID_COLUMN
from mrsm_jupyter.pipes.bounds import DEFAULT_CHUNK_MINUTES, Window
from mrsm_jupyter.pipes.result import SyncResult

INSTANCES = {"duckdb": f"sql:{DUCKDB_LABEL}", "postgresql": f"sql:{POSTGRESQL_LABEL}"}
SOURCE = f"sql:{SOURCE_LABEL}"


class MrsmJupyterContender:
    """One ``mrsm_jupyter.Pipe`` on the run's instance."""

    def __init__(self) -> None:
        self.pipe: mrsm.Pipe | None = None

    @property
    def bench_pipe(self) -> mrsm.Pipe:
        assert self.pipe is not None, "setup() was not called"
        return self.pipe

    def setup(self, target: Target) -> None:
        self.pipe = mrsm.Pipe(
            PIPE_CONNECTOR,
            PIPE_METRIC,
            instance=INSTANCES[target.engine],
            columns={"datetime": DATETIME_COLUMN, "id": ID_COLUMN},
        )
        # Connect now, as the raw limit does in its setup: the first use of an instance
        # builds its connector (and imports SQLAlchemy), a once-per-process cost.
        self.pipe.exists()

    def sync(self, frame: pd.DataFrame) -> str:
        result = self.bench_pipe.sync(frame)
        return f"inserted {result.inserted:,}, updated {result.updated:,}"

    def load(self, frame: pd.DataFrame) -> str | None:
        return self.sync(frame)

    def upsert(self, frame: pd.DataFrame) -> str | None:
        return self.sync(frame)

    def resync(self, frame: pd.DataFrame) -> str | None:
        return self.sync(frame)

    def read_all(self) -> pd.DataFrame:
        frame = self.bench_pipe.get_data()
        assert isinstance(frame, pd.DataFrame)  # get_data is typed DataFrame | Iterator
        return frame

    def read_window(self, begin: datetime, end: datetime, sensor_id: int) -> pd.DataFrame:
        frame = self.bench_pipe.get_data(begin=begin, end=end, params={ID_COLUMN: sensor_id})
        assert isinstance(frame, pd.DataFrame)
        return frame

    def teardown(self) -> None:
        self.bench_pipe.drop()
        self.bench_pipe.delete()
        self.pipe = None

    # Operation 5.
    def verify_setup(self, target: Target, definition: str) -> None:
        self.pipe = mrsm.Pipe(
            SOURCE,
            PIPE_METRIC,
            instance=INSTANCES["duckdb"],
            columns={"datetime": DATETIME_COLUMN, "id": ID_COLUMN},
            parameters={"fetch": {"definition": definition}},
        )
        self.bench_pipe.sync(begin=datetime(2000, 1, 1, tzinfo=UTC))

    def verify(self) -> VerifyReport:
        result = self.bench_pipe.verify()
        note = f"{result.message} Parts: {result.parts:,}; fingerprints: {result.fingerprint_bytes:,} bytes."
        return VerifyReport(note, result.bytes_moved)

    def resync_every_chunk(self) -> VerifyReport:
        """Meerschaum's verify with this engine: fetch every chunk from the source and sync it."""
        pipe, moved = self.bench_pipe, 0
        total = SyncResult(str(pipe))
        newest = pipe.get_sync_time()
        assert isinstance(newest, datetime)
        window = Window(pipe.get_sync_time(newest=False), newest + timedelta(microseconds=1))
        for chunk in window.chunks(timedelta(minutes=DEFAULT_CHUNK_MINUTES)):
            rows = pipe.fetch(begin=chunk.begin, end=chunk.end)
            moved += rows.nbytes
            total.add(pipe.sync(rows))
        return VerifyReport(total.message, moved)

    def restore(self, rows: pd.DataFrame) -> None:
        self.bench_pipe.sync(rows)

    def values_of(self, keys: pd.DataFrame) -> float:
        return values_of(self.bench_pipe.get_data(), keys)

    def verify_teardown(self) -> None:
        self.teardown()


def describe_version() -> str:
    return f"mrsm_jupyter {getattr(mrsm, '__version__', '(no __version__)')}"


def make_contender() -> MrsmJupyterContender:
    return MrsmJupyterContender()
