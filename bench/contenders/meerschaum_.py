"""Meerschaum 4.1.7 (its own venv), through ``Pipe.sync`` and ``Pipe.get_data``.

The worker's environment carries ``MRSM_ROOT_DIR`` (a temp dir), ``MRSM_VENVS_DIR`` (kept
under ``bench/.venvs`` and filled by ``setup.sh``, so no runtime install is ever timed),
``MRSM_NO_AUTO_INSTALL=1`` and the instance URIs ``MRSM_SQL_BENCHDUCK`` / ``MRSM_SQL_BENCHPG``.
"""

from __future__ import annotations

from datetime import datetime

import meerschaum as mrsm  # type: ignore[import-not-found, unused-ignore]
import pandas as pd

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

INSTANCES = {"duckdb": f"sql:{DUCKDB_LABEL}", "postgresql": f"sql:{POSTGRESQL_LABEL}"}
SOURCE = f"sql:{SOURCE_LABEL}"


class MeerschaumError(RuntimeError):
    """Meerschaum answered ``(False, message)``."""


def checked(outcome: tuple[bool, str], action: str) -> str:
    success, message = outcome
    if not success:
        raise MeerschaumError(f"Meerschaum {action} failed: {message}")
    return message


class MeerschaumContender:
    """One ``meerschaum.Pipe`` on the run's instance."""

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

    def load(self, frame: pd.DataFrame) -> str | None:
        return checked(self.bench_pipe.sync(frame), "sync")

    def upsert(self, frame: pd.DataFrame) -> str | None:
        return checked(self.bench_pipe.sync(frame), "sync")

    def resync(self, frame: pd.DataFrame) -> str | None:
        return checked(self.bench_pipe.sync(frame), "sync")

    def read_all(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.bench_pipe.get_data()
        return frame

    def read_window(self, begin: datetime, end: datetime, sensor_id: int) -> pd.DataFrame:
        frame: pd.DataFrame = self.bench_pipe.get_data(begin=begin, end=end, params={ID_COLUMN: sensor_id})
        return frame

    def teardown(self) -> None:
        checked(self.bench_pipe.drop(), "drop")
        checked(self.bench_pipe.delete(), "delete")
        self.pipe = None

    # Operation 5: Meerschaum's own verify (fetch and sync every chunk, diffing in pandas).
    def verify_setup(self, target: Target, definition: str) -> None:
        self.pipe = mrsm.Pipe(
            SOURCE,
            PIPE_METRIC,
            instance=INSTANCES["duckdb"],
            columns={"datetime": DATETIME_COLUMN, "id": ID_COLUMN},
            parameters={"fetch": {"definition": definition}},
        )
        checked(self.bench_pipe.sync(), "sync")
        # Let the worker open the source file to change it (DuckDB refuses a second
        # connection with another configuration in one process).
        mrsm.get_connector(SOURCE).engine.dispose()

    def verify(self) -> VerifyReport:
        return VerifyReport(checked(self.bench_pipe.verify(), "verify"))

    def restore(self, rows: pd.DataFrame) -> None:
        checked(self.bench_pipe.sync(rows), "sync")

    def values_of(self, keys: pd.DataFrame) -> float:
        return values_of(self.bench_pipe.get_data(), keys)

    def verify_teardown(self) -> None:
        self.teardown()


def describe_version() -> str:
    return f"meerschaum {mrsm.__version__}"


def make_contender() -> MeerschaumContender:
    return MeerschaumContender()
