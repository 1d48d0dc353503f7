"""A contender's process: reads one JSON request per line on stdin, answers one JSON line.

The parent (``bench.run``) starts one worker per run, in the contender's venv
(``python -m bench.worker`` from the repository root). The worker builds the workload itself
from the shared seed, so no data crosses the pipe, and times each operation around the
contender's call only. Anything a library prints goes to stderr (the run's log): stdout
carries the protocol alone.

Requests: ``{"op": "setup", "module": ..., "engine": ..., "n": ..., "workdir": ...,
"duckdb_path": ..., "pg_database": ...}``, then ``{"op": "load" | "upsert" | "resync" |
"read_all" | "read_window" | "teardown" | "quit"}``. Operation 5 starts with
``{"op": "verify_setup", ...}`` (the same fields; ``engine`` is the source's), then
``"verify" | "resync_chunks"`` any number of times, then ``"verify_teardown"``.
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

from bench.contenders.base import Contender, Target, VerifyContender, read_variants
from bench.verify_source import SOURCE_DEFINITION, Source, change_source, create_source
from bench.workload import (
    DATETIME_COLUMN,
    ID_COLUMN,
    VALUE_COLUMNS,
    Workload,
    changed_past_rows,
    make_workload,
)

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
    bytes_moved: int | None = None
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
        # Operation 5: its own contender, the changed rows and their old values.
        self.verifier: VerifyContender | None = None
        self.changed: pd.DataFrame | None = None
        self.original: pd.DataFrame | None = None

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

    def verify_setup(self, request: dict[str, Any]) -> Reply:
        """Operation 5's state: the source (initial rows), the pipe synced from it, then 0.1%
        of past rows changed at the source. Timed only for the notes."""
        started = time.perf_counter()
        module = importlib.import_module(request["module"])
        n, workdir = int(request["n"]), Path(request["workdir"])
        target = Target(request["engine"], workdir, Path(request["duckdb_path"]), request["pg_database"])
        source = Source(request["engine"], workdir / "source.duckdb", target.pg_url())
        initial = make_workload(n).initial
        self.changed = changed_past_rows(n)
        keys = self.changed[[DATETIME_COLUMN, ID_COLUMN]]
        self.original = keys.merge(initial, on=[DATETIME_COLUMN, ID_COLUMN], how="left")
        create_source(source, initial)
        self.verifier = module.make_contender()
        self.verifier.verify_setup(target, SOURCE_DEFINITION)
        change_source(source, self.changed)
        return Reply(seconds=time.perf_counter() - started, version=module.describe_version())

    def run_verify(self, op: str) -> Reply:
        """Time the contender's verify (or re-sync of every chunk); then check the changed rows
        and put their old values back, untimed, so that every repeat starts alike."""
        if self.verifier is None or self.changed is None or self.original is None:
            raise RuntimeError("verify_setup must come first")
        action = self.verifier.verify if op == "verify" else self.verifier.resync_every_chunk
        gc.collect()
        started = time.perf_counter()
        report = action()
        seconds = time.perf_counter() - started
        reply = Reply(seconds=seconds, note=report.note, bytes_moved=report.bytes_moved)
        reply.rows = len(self.changed)
        reply.checksum = self.verifier.values_of(self.changed)
        stamps = self.original[DATETIME_COLUMN].dt.tz_localize("UTC")
        self.verifier.restore(self.original.assign(**{DATETIME_COLUMN: stamps}))
        return reply

    def verify_teardown(self) -> Reply:
        if self.verifier is not None:
            self.verifier.verify_teardown()
        self.verifier = None
        return Reply()

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
            "verify_setup": lambda: self.verify_setup(request),
            "verify": lambda: self.run_verify("verify"),
            "resync_chunks": lambda: self.run_verify("resync_chunks"),
            "verify_teardown": self.verify_teardown,
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
