"""Repeated window reads on a remote PostgreSQL pipe, with and without a local DuckDB cache.

    .venv/bin/python -m bench.cache_read --rows 1000000 --repeats 15

The pipe holds the workload of ``bench/workload.py`` (100 sensors, one row a minute each) on
the database ``mrsm_bench_cache``, recreated per run. Two ``Pipe`` objects read it: one
directly, one with ``cache=True``. Reads alternate between them; the table shows medians.
Each cached read includes its refresh (the check for new rows, no verify: it is due hourly),
so the figures are what a notebook re-running a cell sees. The cache's first fill and a
refresh that verifies every chunk by fingerprints are timed once each.
Writes ``bench/results/cache.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.postgres_admin import ADMIN_URL, recreate_database, server_available
from bench.workload import make_workload

DATABASE = "mrsm_bench_cache"
RESULTS = Path(__file__).parent / "results" / "cache.md"


def timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    answer = function()
    return time.perf_counter() - started, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not server_available():
        raise SystemExit(f"no PostgreSQL server at {ADMIN_URL}")
    recreate_database(DATABASE)
    os.environ["MRSM_SQL_BENCHREMOTE"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + DATABASE
    os.environ["MRSM_JUPYTER_ROOT"] = tempfile.mkdtemp(prefix="mrsm_bench_cache_")
    import mrsm_jupyter as mrsm  # noqa: PLC0415 (after the root is set)

    columns = {"datetime": "dt", "id": "id"}
    direct = mrsm.Pipe("bench", "sensors", instance="sql:benchremote", columns=columns)
    cached = mrsm.Pipe("bench", "sensors", instance="sql:benchremote", columns=columns, cache=True)
    # The same cache, looking for new rows at most once a minute.
    lazy = mrsm.Pipe(
        "bench",
        "sensors",
        instance="sql:benchremote",
        columns=columns,
        cache=True,
        parameters={"cache": {"check_seconds": 60}},
    )
    work = make_workload(args.rows)
    load, _ = timed(lambda: direct.sync(work.initial))
    fill, _ = timed(cached.refresh_cache)
    verify, verified = timed(lambda: cached.refresh_cache(verify=True))
    day = work.window
    begin, end = day.begin.replace(tzinfo=UTC), day.end.replace(tzinfo=UTC)
    reads: dict[str, Callable[[mrsm.Pipe], object]] = {
        "one day, one sensor": lambda p: p.get_data(begin=begin, end=end, params={"id": day.sensor_id}),
        "one day, all sensors": lambda p: p.get_data(begin=begin, end=end),
        "one week, all sensors": lambda p: p.get_data(begin=begin, end=begin + timedelta(days=7)),
        "the whole pipe": lambda p: p.get_data(),
    }
    rows = []
    for name, read in reads.items():
        times: dict[str, list[float]] = {"direct": [], "cached": [], "lazy": []}
        for _ in range(args.repeats):
            for label, pipe in (("direct", direct), ("cached", cached), ("lazy", lazy)):
                seconds, _ = timed(lambda pipe=pipe, read=read: read(pipe))
                times[label].append(seconds)
        n = len(read(direct))  # type: ignore[arg-type]
        assert n == len(read(cached)), name  # type: ignore[arg-type]
        medians = {label: statistics.median(values) for label, values in times.items()}
        rows.append((name, n, medians["direct"], medians["cached"], medians["lazy"]))
    report(args, rows, load, fill, verify, str(verified))


def report(
    args: argparse.Namespace,
    rows: list[tuple[str, int, float, float, float]],
    load: float,
    fill: float,
    verify: float,
    verified: str,
) -> None:
    lines = [
        "# Local cache of a remote PostgreSQL pipe: repeated window reads",
        "",
        f"`python -m bench.cache_read --rows {args.rows} --repeats {args.repeats}` on "
        f"{datetime.now(UTC):%Y-%m-%dT%H:%M}Z, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} at the end, Python {platform.python_version()}.",
        "Medians of the repeats, reads alternating; a cached read checked every read includes "
        "its refresh (a query for the remote's newest sync time: two round trips to PostgreSQL).",
        "",
        "| read | rows | PostgreSQL directly | cache, checked every read | speed-up "
        "| cache, `check_seconds: 60` | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, n, direct, cached, lazy in rows:
        lines.append(
            f"| {name} | {n:,} | {direct * 1e3:.1f} ms | {cached * 1e3:.1f} ms | {direct / cached:.1f}x "
            f"| {lazy * 1e3:.1f} ms | {direct / lazy:.1f}x |"
        )
    lines += [
        "",
        f"- initial load into PostgreSQL ({args.rows:,} rows): {load:.2f} s",
        f"- the cache's first fill (every row over the wire): {fill:.2f} s",
        f"- a refresh verifying every chunk by fingerprints (nothing changed): {verify:.2f} s — {verified}",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
