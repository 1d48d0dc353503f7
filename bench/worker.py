"""A contender's process: reads one JSON request per line on stdin, answers one JSON line.

The parent (``bench.run``) starts one worker per run, in the contender's venv
(``python -m bench.worker`` from the repository root). The worker builds the workload itself
from the shared seed, so no data crosses the pipe, and times each operation around the
contender's call only. Anything a library prints goes to stderr (the run's log): stdout
carries the protocol alone.

Requests: ``{"op": "setup", "module": ..., "engine": ..., "n": ..., "workdir": ...,
"duckdb_path": ..., "pg_database": ...}``, then ``{"op": "load" | "upsert" | "resync" |
"read_all" | "read_window" | "verify" | "teardown" | "quit"}``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from bench.contenders.base import Contender, Target, read_variants
from bench.workload import VALUE_COLUMNS, Workload, make_workload

WINDOW_CALLS = 5


@dataclass
class Reply:
    """What the worker answers to one request."""

    ok: bool = True
    seconds: float | None = None
    rows: int | None = None
    checksum: float | None = None
    note: str | None = None
    variant: str | None = None
    variants: dict[str, float] = field(default_factory=dict)
    peak_rss_delta: int | None = None
    version: str | None = None
    error: str | None = None


def status_kib(key: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status``, in KiB (``None`` off Linux)."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux ``clear_refs``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """Peak RSS above the level at entry: native allocations (DuckDB, Arrow, libpq) included."""

    def __enter__(self) -> PeakMemory:
        gc.collect()
        self.valid = reset_peak_rss()
        self.base = status_kib("VmRSS")
        self.delta: int | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        peak = status_kib("VmHWM")
        if self.valid and peak is not None and self.base is not None:
            self.delta = (peak - self.base) * 1024


def checked_frame(reply: Reply, frame: pd.DataFrame) -> Reply:
    """Fill ``rows`` and ``checksum`` (sum of ``value``) so the parent can check correctness."""
    reply.rows = len(frame)
    reply.checksum = float(frame[VALUE_COLUMNS[0]].astype("float64").sum())
    return reply


class WorkerSession:
    """One contender on one target, and the workload it is fed."""

    def __init__(self) -> None:
        self.contender: Contender | None = None
        self.workload: Workload | None = None

    def ready(self) -> tuple[Contender, Workload]:
        if self.contender is None or self.workload is None:
            raise RuntimeError("setup must come first")
        return self.contender, self.workload

    def setup(self, request: dict[str, Any]) -> Reply:
        module = importlib.import_module(request["module"])
        self.workload = make_workload(int(request["n"]))
        workdir = Path(request["workdir"])
        target = Target(
            engine=request["engine"],
            workdir=workdir,
            duckdb_path=Path(request["duckdb_path"]),
            pg_database=request["pg_database"],
        )
        self.contender = module.make_contender()
        self.contender.setup(target)
        return Reply(version=module.describe_version())

    def write(self, op: str) -> Reply:
        contender, workload = self.ready()
        frame = (workload.initial if op == "load" else workload.batch).copy()
        action: Callable[[pd.DataFrame], str | None] = getattr(contender, op)
        with PeakMemory() as memory:
            started = time.perf_counter()
            note = action(frame)
            seconds = time.perf_counter() - started
        return Reply(seconds=seconds, note=note, peak_rss_delta=memory.delta)

    def read_all(self) -> Reply:
        contender, _ = self.ready()
        reply = Reply()
        frame = pd.DataFrame()
        for name, variant in read_variants(contender).items():
            gc.collect()
            started = time.perf_counter()
            frame = variant()
            reply.variants[name] = time.perf_counter() - started
        reply.variant = min(reply.variants, key=reply.variants.__getitem__)
        reply.seconds = reply.variants[reply.variant]
        return checked_frame(reply, frame)

    def read_window(self) -> Reply:
        contender, workload = self.ready()
        window = workload.window
        timings: list[float] = []
        frame = pd.DataFrame()
        for _ in range(WINDOW_CALLS):
            started = time.perf_counter()
            frame = contender.read_window(window.begin, window.end, window.sensor_id)
            timings.append(time.perf_counter() - started)
        return checked_frame(Reply(seconds=statistics.median(timings)), frame)

    def run_verify(self) -> Reply:
        """Operation 5, still to come: needs the workload's changed-at-source frame."""
        raise NotImplementedError("the verify operation is not part of the workload yet")

    def teardown(self) -> Reply:
        contender, _ = self.ready()
        contender.teardown()
        self.contender = None
        return Reply()

    def handle(self, request: dict[str, Any]) -> Reply:
        op = request["op"]
        handlers: dict[str, Callable[[], Reply]] = {
            "setup": lambda: self.setup(request),
            "load": lambda: self.write("load"),
            "upsert": lambda: self.write("upsert"),
            "resync": lambda: self.write("resync"),
            "read_all": self.read_all,
            "read_window": self.read_window,
            "verify": self.run_verify,
            "teardown": self.teardown,
        }
        if op not in handlers:
            raise ValueError(f"unknown op {op!r}; expected one of {sorted(handlers)}")
        return handlers[op]()


def serve(requests: TextIO, replies: TextIO) -> None:
    session = WorkerSession()
    for line in requests:
        request = json.loads(line)
        if request["op"] == "quit":
            return
        try:
            reply = session.handle(request)
        except Exception as error:  # reported to the parent, which stops this run
            traceback.print_exc()
            reply = Reply(ok=False, error=f"{type(error).__name__}: {error}")
        replies.write(json.dumps(asdict(reply)) + "\n")
        replies.flush()


def main() -> None:
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints go to the log
    serve(sys.stdin, replies)


if __name__ == "__main__":
    main()
