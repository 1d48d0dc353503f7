"""Reads through the REST API: time to the first page and bulk transfer rate, JSON and Arrow.

Usage: ``.venv/bin/python bench/api_transfer.py [--rows 10000000] [--repeats 3]``

Loads ``--rows`` rows of the benchmark workload (``bench/workload.py``: 100 sensors, one row a
minute each, four float columns) into ``sql:local`` (DuckDB) in a temporary root, starts a
Jupyter server with the extension on it, then over HTTP with a token:

- **first page**: ``GET .../data`` of one page (``--first-page-rows``) from the start of the
  pipe, from request to a decoded page (median of ``--repeats``);
- **bulk**: every row (JSON: the first ``--json-rows``, 1M by default, since JSON is slow),
  following ``next_cursor`` until it is null, decoded into Python rows (JSON) or Arrow tables
  (Arrow), with ``--json-page-rows`` / ``--arrow-page-rows`` per page.

Prints a markdown table (and writes it to ``--output``). It asserts nothing about time; it
checks that the bulk reads returned every row once.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workload import SENSORS, VALUE_COLUMNS, sensor_frame
from mrsm_jupyter.jupyter.server.payloads import NEXT_CURSOR_HEADER, ROW_COUNT_HEADER
from mrsm_jupyter.jupyter.server.wire import ipc_to_table

PIPE_PATH = "pipes/bench/api_transfer/None"
LOAD_CHUNK = 1_000_000


@dataclass(frozen=True)
class Figure:
    what: str
    rows: int
    seconds: float
    bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def load(rows: int) -> float:
    """Sync ``rows`` rows into the pipe (in this process, before the server opens the file)."""
    import mrsm_jupyter as mrsm  # noqa: PLC0415 (after MRSM_JUPYTER_ROOT is set)

    pipe = mrsm.Pipe("bench", "api_transfer", instance="sql:local", columns={"datetime": "dt", "id": "id"})
    pipe.register()
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for first in tqdm(range(0, rows, LOAD_CHUNK), desc="load", unit="chunk"):
        size = min(LOAD_CHUNK, rows - first)
        pipe.sync(sensor_frame(first, size, rng.normal(size=(size, len(VALUE_COLUMNS)))))
    seconds = time.perf_counter() - started
    assert pipe.get_rowcount() == rows, pipe.get_rowcount()
    return seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def jupyter_server(root: Path) -> Iterator[httpx.Client]:
    """A Jupyter server with the extension on ``root``; yields a client for its REST API."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}"]
    argv += ["--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    argv += [f"--ServerApp.root_dir={root}", "--ServerApp.jpserver_extensions={'mrsm_jupyter': True}"]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_RUNTIME_DIR": str(root / "rt")}
    with (root / "server.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}/mrsm/api/"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"token {token}"}, timeout=600) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("instances").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the server did not start; see {root / 'server.log'}")
                time.sleep(0.2)
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def json_page(client: httpx.Client, query: dict[str, str]) -> tuple[int, str | None, int]:
    answer = client.get(f"{PIPE_PATH}/data", params={**query, "format": "json"})
    answer.raise_for_status()
    page = answer.json()
    return len(page["rows"]), page["next_cursor"], len(answer.content)


def arrow_page(client: httpx.Client, query: dict[str, str]) -> tuple[int, str | None, int]:
    answer = client.get(f"{PIPE_PATH}/data", params={**query, "format": "arrow"})
    answer.raise_for_status()
    table = ipc_to_table(answer.content)
    assert table.num_rows == int(answer.headers[ROW_COUNT_HEADER])
    cursor = answer.headers.get(NEXT_CURSOR_HEADER) or None
    return table.num_rows, cursor, len(answer.content)


Reader = Callable[[httpx.Client, dict[str, str]], tuple[int, str | None, int]]


def first_page(client: httpx.Client, read: Reader, page_rows: int, repeats: int, what: str) -> Figure:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        rows, _, size = read(client, {"page_rows": str(page_rows)})
        times.append(time.perf_counter() - started)
    return Figure(what, rows, statistics.median(times), size)


def bulk(client: httpx.Client, read: Reader, page_rows: int, total: int, what: str) -> Figure:
    """Read the first ``total`` rows (``limit``), page by page."""
    rows = size = 0
    cursor: str | None = None
    started = time.perf_counter()
    with tqdm(total=total, desc=what, unit="row", unit_scale=True) as bar:
        while True:
            query = {"page_rows": str(page_rows), "page_bytes": str(256 * 1024 * 1024), "limit": str(total)}
            got, cursor, page_size = read(client, {**query, **({"cursor": cursor} if cursor else {})})
            rows, size = rows + got, size + page_size
            bar.update(got)
            if cursor is None:
                break
    seconds = time.perf_counter() - started
    assert rows == total, f"{what}: read {rows:,} rows of {total:,}"
    return Figure(what, rows, seconds, size)


def report(rows: int, load_seconds: float, figures: list[Figure]) -> str:
    lines = [
        f"# Reads through the REST API ({rows:,} rows, DuckDB `sql:local`)",
        "",
        f"Loaded in {load_seconds:.1f} s ({rows / load_seconds:,.0f} rows/s); {os.cpu_count()} cores.",
        "",
        "| read | rows | seconds | rows/s | MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for f in figures:
        lines.append(
            f"| {f.what} | {f.rows:,} | {f.seconds:.3f} | {f.rows_per_second:,.0f} | {f.bytes / 1e6:,.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--first-page-rows", type=int, default=1_000)
    parser.add_argument("--json-page-rows", type=int, default=100_000)
    parser.add_argument("--arrow-page-rows", type=int, default=1_000_000)
    # JSON runs at about 15k rows/s here: 10M rows would take 12 minutes for the same rate.
    parser.add_argument("--json-rows", type=int, default=1_000_000, help="JSON bulk read rows (0: all)")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "api_transfer.md")
    args = parser.parse_args(argv)
    assert args.rows % SENSORS == 0, f"--rows must be a multiple of {SENSORS}"
    json_rows = min(args.json_rows or args.rows, args.rows)
    json_what = "all rows, JSON" if json_rows == args.rows else f"first {json_rows:,} rows, JSON"
    with tempfile.TemporaryDirectory(prefix="mrsm_api_bench_") as tmp:
        root = Path(tmp)
        os.environ["MRSM_JUPYTER_ROOT"] = str(root / "mrsm")
        load_seconds = load(args.rows)
        with jupyter_server(root) as client:
            figures = [
                first_page(client, json_page, args.first_page_rows, args.repeats, "first page, JSON"),
                first_page(client, arrow_page, args.first_page_rows, args.repeats, "first page, Arrow"),
                bulk(client, arrow_page, args.arrow_page_rows, args.rows, "all rows, Arrow"),
                bulk(client, json_page, args.json_page_rows, json_rows, json_what),
            ]
    text = report(args.rows, load_seconds, figures)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
