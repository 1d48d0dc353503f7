"""dlt 1.x (its own venv): a pipeline with ``write_disposition='merge'`` on ``(dt, id)``.

Reads go through dlt's own dataset API (``pipeline.dataset()``), which needs sqlglot < 30 in
dlt 1.31 (sqlglot 30 dropped an argument dlt passes; ``setup.sh`` pins it). Telemetry is off
(``RUNTIME__DLTHUB_TELEMETRY=false`` in the worker's environment).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dlt  # type: ignore[import-not-found, unused-ignore]
import pandas as pd

from bench.contenders.base import PIPE_CONNECTOR, PIPE_METRIC, Target
from bench.workload import DATETIME_COLUMN, ID_COLUMN

PIPELINE_NAME = f"{PIPE_CONNECTOR}_{PIPE_METRIC}"
DATASET_NAME = PIPE_CONNECTOR
TABLE_NAME = PIPE_METRIC


def make_destination(target: Target) -> Any:
    if target.engine == "duckdb":
        return dlt.destinations.duckdb(str(target.duckdb_path))
    # dlt insists on a password; the server trusts local connections and ignores it.
    url = target.pg_url().replace(f"{target.pg_user}@", f"{target.pg_user}:unused@")
    return dlt.destinations.postgres(url)


class DltContender:
    """One dlt pipeline merging into one table."""

    def __init__(self) -> None:
        self.pipeline: Any = None

    def setup(self, target: Target) -> None:
        self.pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            destination=make_destination(target),
            dataset_name=DATASET_NAME,
            pipelines_dir=str(target.workdir / "dlt_pipelines"),
            progress=None,
        )

    def merge(self, frame: pd.DataFrame) -> str | None:
        info = self.pipeline.run(
            frame,
            table_name=TABLE_NAME,
            write_disposition="merge",
            primary_key=(DATETIME_COLUMN, ID_COLUMN),
        )
        info.raise_on_failed_jobs()
        return None

    def load(self, frame: pd.DataFrame) -> str | None:
        return self.merge(frame)

    def upsert(self, frame: pd.DataFrame) -> str | None:
        return self.merge(frame)

    def resync(self, frame: pd.DataFrame) -> str | None:
        return self.merge(frame)

    def read_all(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.pipeline.dataset()[TABLE_NAME].df()
        return frame

    def read_window(self, begin: datetime, end: datetime, sensor_id: int) -> pd.DataFrame:
        relation = (
            self.pipeline.dataset()[TABLE_NAME]
            .where(ID_COLUMN, "eq", sensor_id)
            .where(DATETIME_COLUMN, "gte", begin)
            .where(DATETIME_COLUMN, "lt", end)
        )
        frame: pd.DataFrame = relation.df()
        return frame

    def teardown(self) -> None:
        with self.pipeline.sql_client() as client:
            client.drop_dataset()
        self.pipeline = None


def describe_version() -> str:
    return f"dlt {dlt.__version__}"


def make_contender() -> DltContender:
    return DltContender()
