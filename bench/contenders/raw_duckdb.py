"""The raw limit on DuckDB: hand-written SQL over one connection, no framework.

Load: ``CREATE TABLE AS`` from the registered DataFrame. Upsert and re-sync: one ``MERGE``
that updates only rows whose values are distinct and inserts missing keys. Reads: both the
Arrow route and the direct pandas route are timed; the faster one counts.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from bench.contenders.base import ReadVariant, Target
from bench.workload import ALL_COLUMNS, DATETIME_COLUMN, ID_COLUMN, VALUE_COLUMNS

TABLE = "raw_sensors"
STAGED = "staged_batch"


def merge_statement() -> str:
    """``MERGE`` updating rows whose values differ and inserting new keys."""
    target = ", ".join(f"t.{name}" for name in VALUE_COLUMNS)
    source = ", ".join(f"s.{name}" for name in VALUE_COLUMNS)
    assignments = ", ".join(f"{name} = s.{name}" for name in VALUE_COLUMNS)
    inserted = ", ".join(ALL_COLUMNS)
    values = ", ".join(f"s.{name}" for name in ALL_COLUMNS)
    return (
        f"MERGE INTO {TABLE} AS t USING {STAGED} AS s "
        f"ON t.{DATETIME_COLUMN} = s.{DATETIME_COLUMN} AND t.{ID_COLUMN} = s.{ID_COLUMN} "
        f"WHEN MATCHED AND ({target}) IS DISTINCT FROM ({source}) "
        f"THEN UPDATE SET {assignments} "
        f"WHEN NOT MATCHED THEN INSERT ({inserted}) VALUES ({values})"
    )


class RawDuckDB:
    """Hand-written DuckDB: the fastest code we know for each operation."""

    def __init__(self) -> None:
        self.connection: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        assert self.connection is not None, "setup() was not called"
        return self.connection

    def setup(self, target: Target) -> None:
        self.connection = duckdb.connect(str(target.duckdb_path))

    def load(self, frame: pd.DataFrame) -> str | None:
        self.con.register(STAGED, frame)
        self.con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM {STAGED}")
        self.con.unregister(STAGED)
        return None

    def upsert(self, frame: pd.DataFrame) -> str | None:
        self.con.register(STAGED, frame)
        written = self.con.execute(merge_statement()).fetchall()
        self.con.unregister(STAGED)
        return f"written {written[0][0]:,}"

    def resync(self, frame: pd.DataFrame) -> str | None:
        return self.upsert(frame)

    def read_all(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.con.sql(f"SELECT * FROM {TABLE}").to_arrow_table().to_pandas()
        return frame

    def read_all_pandas(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.con.sql(f"SELECT * FROM {TABLE}").df()
        return frame

    def read_all_variants(self) -> dict[str, ReadVariant]:
        return {"arrow→pandas": self.read_all, "direct pandas": self.read_all_pandas}

    def read_window(self, begin: datetime, end: datetime, sensor_id: int) -> pd.DataFrame:
        # For ~1,000 rows a prepared statement straight to pandas beats the Arrow route.
        query = (
            f"SELECT * FROM {TABLE} WHERE {ID_COLUMN} = $id "
            f"AND {DATETIME_COLUMN} >= $begin AND {DATETIME_COLUMN} < $end"
        )
        cursor = self.con.execute(query, {"id": sensor_id, "begin": begin, "end": end})
        frame: pd.DataFrame = cursor.df()
        return frame

    def teardown(self) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.con.close()
        self.connection = None


def describe_version() -> str:
    return f"duckdb {duckdb.__version__}"


def make_contender() -> RawDuckDB:
    return RawDuckDB()
