"""Operation 5's source: the initial rows in a database of their own, then 0.1% of past rows
changed there.

The source is a DuckDB file beside the instance, or the run's PostgreSQL database; either
way the pipe lives on a DuckDB instance and reads the source through ``sql:benchsrc`` with
the fetch definition ``SOURCE_DEFINITION``. Datetimes are stored with their zone (UTC), so
no session time zone shifts a window. Runs in every contender's venv (duckdb, psycopg, numpy).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from bench.contenders.pg_binary_copy import HEADER, TRAILER, encode_tuples
from bench.workload import DATETIME_COLUMN, ID_COLUMN, VALUE_COLUMNS

SOURCE_LABEL = "benchsrc"
SOURCE_TABLE = "sensors_source"
SOURCE_DEFINITION = f"SELECT * FROM {SOURCE_TABLE}"
FLOATS = {name: "double precision" for name in VALUE_COLUMNS}
PG_COLUMNS = {DATETIME_COLUMN: "timestamptz", ID_COLUMN: "bigint", **FLOATS}
# The binary COPY of a timestamptz is the same 8-byte count as a timestamp's (UTC).
COPY_TYPES = {DATETIME_COLUMN: "timestamp", ID_COLUMN: "bigint", **FLOATS}


@dataclass(frozen=True)
class Source:
    """Where operation 5's source rows live: ``engine`` is ``duckdb`` or ``postgresql``."""

    engine: str
    duckdb_path: Path
    pg_url: str

    def uri(self) -> str:
        """The connector URI both engines' ``sql:benchsrc`` use."""
        if self.engine == "duckdb":
            return f"duckdb:///{self.duckdb_path}"
        return self.pg_url.replace("postgresql://", "postgresql+psycopg://", 1)


def _utc(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{DATETIME_COLUMN: frame[DATETIME_COLUMN].dt.tz_localize("UTC")})


def create_source(source: Source, frame: pd.DataFrame) -> None:
    """The source table holding ``frame``, keyed by ``(dt, id)`` as a real source would be."""
    if source.engine == "duckdb":
        with duckdb.connect(str(source.duckdb_path)) as con:
            con.register("frame", _utc(frame))
            con.execute(f"CREATE TABLE {SOURCE_TABLE} AS SELECT * FROM frame")
        return
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in PG_COLUMNS.items())
    import psycopg  # noqa: PLC0415 (the dlt worker's environment has no psycopg)

    with psycopg.connect(source.pg_url) as con:
        con.execute(f"CREATE TABLE {SOURCE_TABLE} ({columns})")
        _copy_into(con, SOURCE_TABLE, frame)
        con.execute(f"ALTER TABLE {SOURCE_TABLE} ADD PRIMARY KEY ({DATETIME_COLUMN}, {ID_COLUMN})")
        con.execute(f"ANALYZE {SOURCE_TABLE}")


def _copy_into(con: Any, table: str, frame: pd.DataFrame) -> None:
    names = ", ".join(PG_COLUMNS)
    with con.cursor().copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(HEADER + encode_tuples(frame[list(PG_COLUMNS)], COPY_TYPES).tobytes() + TRAILER)


def change_source(source: Source, changed: pd.DataFrame) -> None:
    """Write ``changed`` over the source rows with the same keys."""
    sets = ", ".join(f"{c} = c.{c}" for c in VALUE_COLUMNS)
    match = f"s.{DATETIME_COLUMN} = c.{DATETIME_COLUMN} AND s.{ID_COLUMN} = c.{ID_COLUMN}"
    if source.engine == "duckdb":
        with duckdb.connect(str(source.duckdb_path)) as con:
            con.register("changes", _utc(changed))
            con.execute(f"UPDATE {SOURCE_TABLE} AS s SET {sets} FROM changes AS c WHERE {match}")
        return
    import psycopg  # noqa: PLC0415 (the dlt worker's environment has no psycopg)

    with psycopg.connect(source.pg_url) as con:
        con.execute(f"CREATE TEMPORARY TABLE changes (LIKE {SOURCE_TABLE})")
        _copy_into(con, "changes", changed)
        con.execute(f"UPDATE {SOURCE_TABLE} AS s SET {sets} FROM changes AS c WHERE {match}")


def values_of(frame: pd.DataFrame, keys: pd.DataFrame) -> float:
    """The sum of ``value`` over the rows of ``frame`` with the keys of ``keys`` (a pipe's
    read, in UTC or naive: both compare as UTC)."""
    stamps = pd.to_datetime(frame[DATETIME_COLUMN])
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    held = pd.DataFrame(
        {DATETIME_COLUMN: stamps.astype("datetime64[us]"), ID_COLUMN: frame[ID_COLUMN].astype("int64")}
    ).assign(value=frame[VALUE_COLUMNS[0]].to_numpy())
    key_types = {DATETIME_COLUMN: "datetime64[us]", ID_COLUMN: "int64"}
    wanted = keys[[DATETIME_COLUMN, ID_COLUMN]].astype(key_types)
    return float(wanted.merge(held, on=[DATETIME_COLUMN, ID_COLUMN], how="left")["value"].sum())
