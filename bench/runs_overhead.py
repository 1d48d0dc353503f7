"""What recording runs (``mrsm_runs``) costs a sync: 1k-row batches with and without it.

    .venv/bin/python bench/runs_overhead.py [--batches 40] [--rows 1000] [--flavors duckdb sqlite ...]

Each flavor gets a fresh database (PostgreSQL and MariaDB: ``mrsm_bench_runs``). Syncs of
new rows alternate between recording on and off (``MRSM_JUPYTER_RUNS``), so drift in the
machine's load falls on both; the table prints the median sync time of each and the difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pymysql

from mrsm_jupyter.connectors.sql.connector import SQLConnector
from mrsm_jupyter.diagnostics.recording import RUNS_ENV
from mrsm_jupyter.pipes.pipe import Pipe

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DATABASE = "mrsm_bench_runs"


def fresh_uri(flavor: str, tmp: Path) -> str:
    if flavor == "duckdb":
        return f"duckdb:///{tmp / 'runs.duckdb'}"
    if flavor == "sqlite":
        return f"sqlite:///{tmp / 'runs.sqlite'}"
    if flavor == "postgresql":
        with psycopg.connect("postgresql://postgres@localhost:5432/postgres", autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            con.execute(f"CREATE DATABASE {DATABASE}")
        return f"postgresql://postgres@localhost:5432/{DATABASE}"
    con = pymysql.connect(host="127.0.0.1", user="root")
    with con.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cur.execute(f"CREATE DATABASE {DATABASE}")
    con.close()
    return f"mariadb://root@127.0.0.1:3306/{DATABASE}"


def batch(start: int, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(seconds=start + i) for i in range(rows)],
            "id": [i % 10 for i in range(rows)],
            "v": [float(i) for i in range(rows)],
        }
    )


def measure(flavor: str, batches: int, rows: int) -> tuple[float, float]:
    """Median seconds per sync with recording on and off."""
    with tempfile.TemporaryDirectory() as tmp:
        connector = SQLConnector(f"bench{flavor}", fresh_uri(flavor, Path(tmp)))
        pipe = Pipe("bench", "runs", instance=connector, columns={"datetime": "dt", "id": "id"})
        pipe.sync(batch(0, rows))  # the table and mrsm_runs exist before timing
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(batches):
            recording = i % 2 == 0
            os.environ[RUNS_ENV] = "on" if recording else "off"
            frame = batch((i + 1) * rows, rows)
            started = time.perf_counter()
            pipe.sync(frame)
            times[recording].append(time.perf_counter() - started)
        connector.close()
    os.environ.pop(RUNS_ENV, None)
    return statistics.median(times[True]), statistics.median(times[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--flavors", nargs="+", default=["duckdb", "sqlite", "postgresql", "mariadb"])
    args = parser.parse_args()
    print(f"{args.rows:,}-row batches, {args.batches} syncs (half recorded), median ms per sync")
    print(f"{'flavor':<12}{'recorded':>10}{'not':>10}{'overhead':>10}{'%':>8}")
    for flavor in args.flavors:
        on, off = measure(flavor, args.batches, args.rows)
        overhead = f"{(on - off) * 1e3:>10.2f}{(on / off - 1) * 100:>7.1f}%"
        print(f"{flavor:<12}{on * 1e3:>10.2f}{off * 1e3:>10.2f}{overhead}")


if __name__ == "__main__":
    main()
