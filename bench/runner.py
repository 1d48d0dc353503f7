"""Drive one worker process through one run, and check what it read against the workload."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from bench.contenders import CONTENDERS, ContenderSpec
from bench.contenders.base import DUCKDB_LABEL, POSTGRESQL_LABEL, Target
from bench.postgres_admin import recreate_database
from bench.report import Measurement
from bench.verify_source import SOURCE_LABEL, Source
from bench.workload import VALUE_COLUMNS, expected_final, make_workload, window_rows

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "bench"
VENVS_DIR = BENCH_DIR / ".venvs"
RESULTS_DIR = BENCH_DIR / "results"
LOGS_DIR = RESULTS_DIR / "logs"
PROJECT_PYTHON = REPO / ".venv" / "bin" / "python"
CHECKSUM_TOLERANCE = 1e-6
ROOT_DIRS = ("mrsm_jupyter_root", "meerschaum_root")  # created empty in every run's workdir


class WorkerError(RuntimeError):
    """The worker died, timed out, or answered something that is not a reply."""


@dataclass(frozen=True)
class Expectations:
    """What a correct pipe returns after the load and the upsert, for one size."""

    rows: int
    checksum: float
    window_rows: int
    window_checksum: float
    frame_bytes: int


@dataclass(frozen=True)
class RunPlan:
    """One run: a contender on an engine at a size; ``repeat`` only labels it."""

    contender: str
    engine: str
    size: int
    repeat: int
    pg_prefix: str
    timeout: float


def expectations_for(size: int) -> Expectations:
    workload = make_workload(size)
    final = expected_final(workload)
    window = window_rows(final, workload.window)
    value = VALUE_COLUMNS[0]
    return Expectations(
        rows=len(final),
        checksum=float(final[value].sum()),
        window_rows=len(window),
        window_checksum=float(window[value].sum()),
        frame_bytes=int(workload.initial.memory_usage(deep=True).sum()),
    )


def python_for(spec: ContenderSpec) -> Path:
    return PROJECT_PYTHON if spec.venv is None else VENVS_DIR / spec.venv / "bin" / "python"


def worker_env(target: Target) -> dict[str, str]:
    """The environment of a worker: every contender's settings point into this run's target."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "MRSM_JUPYTER_ROOT": str(target.workdir / ROOT_DIRS[0]),
            "MRSM_ROOT_DIR": str(target.workdir / ROOT_DIRS[1]),
            # Meerschaum installs runtime packages here; setup.sh fills it once.
            "MRSM_VENVS_DIR": str(VENVS_DIR / "meerschaum_runtime"),
            "MRSM_NO_AUTO_INSTALL": "1",
            f"MRSM_SQL_{DUCKDB_LABEL.upper()}": f"duckdb:///{target.duckdb_path}",
            f"MRSM_SQL_{POSTGRESQL_LABEL.upper()}": target.pg_url("postgresql+psycopg"),
            # Operation 5's source: the run's PostgreSQL database, or a DuckDB file beside the instance.
            f"MRSM_SQL_{SOURCE_LABEL.upper()}": Source(
                target.engine, target.workdir / "source.duckdb", target.pg_url()
            ).uri(),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
    )
    return env


class WorkerProcess:
    """A ``python -m bench.worker`` child speaking JSON lines; stderr goes to a log file."""

    def __init__(self, python: Path, env: dict[str, str], log: IO[str], timeout: float) -> None:
        self.process = subprocess.Popen(
            [str(python), "-m", "bench.worker"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.timeout = timeout

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(payload) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        if not ready:
            self.process.kill()
            raise WorkerError(f"{payload['op']} timed out after {self.timeout:.0f} s")
        line = self.process.stdout.readline()
        if not line:
            raise WorkerError(f"worker exited with {self.process.wait()} during {payload['op']}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.process.poll() is None and self.process.stdin is not None:
            self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def make_target(plan: RunPlan) -> Target:
    workdir = Path(tempfile.mkdtemp(prefix=f"mrsm-bench-{plan.contender}-"))
    target = Target(
        engine=plan.engine,
        workdir=workdir,
        duckdb_path=workdir / "instance.duckdb",
        pg_database=f"{plan.pg_prefix}_{plan.contender}",
    )
    for root in ROOT_DIRS:
        (workdir / root).mkdir()
    if plan.engine == "postgresql":
        recreate_database(target.pg_database)
    return target


def setup_request(plan: RunPlan, target: Target) -> dict[str, Any]:
    return {
        "op": "setup",
        "module": CONTENDERS[plan.contender].modules[plan.engine],
        "engine": plan.engine,
        "n": plan.size,
        "workdir": str(target.workdir),
        "duckdb_path": str(target.duckdb_path),
        "pg_database": target.pg_database,
    }


def measurement_from(plan: RunPlan, op: str, reply: dict[str, Any]) -> Measurement:
    return Measurement(
        size=plan.size,
        engine=plan.engine,
        contender=plan.contender,
        repeat=plan.repeat,
        op=op,
        seconds=reply.get("seconds") if reply.get("ok") else None,
        error=reply.get("error"),
        rows=reply.get("rows"),
        checksum=reply.get("checksum"),
        note=reply.get("note"),
        variant=reply.get("variant"),
        variants=reply.get("variants") or {},
        peak_rss_delta=reply.get("peak_rss_delta"),
        bytes_moved=reply.get("bytes_moved"),
    )


def check_read(measurement: Measurement, expected: Expectations) -> str | None:
    """A mismatch between what a read returned and the workload's final content, if any."""
    targets = {
        "read_all": (expected.rows, expected.checksum),
        "read_window": (expected.window_rows, expected.window_checksum),
    }
    if measurement.op not in targets or measurement.error:
        return None
    rows, checksum = targets[measurement.op]
    if measurement.rows != rows:
        return f"returned {measurement.rows} rows, expected {rows}"
    got = measurement.checksum if measurement.checksum is not None else float("nan")
    if not abs(got - checksum) <= CHECKSUM_TOLERANCE * max(1.0, abs(checksum)):
        return f"sum of value is {got:.6f}, expected {checksum:.6f}"
    return None


def drive(
    worker: WorkerProcess,
    plan: RunPlan,
    target: Target,
    operations: list[str],
    expected: Expectations,
) -> tuple[list[Measurement], str | None]:
    """Setup, the operations in order (stopping at the first error), teardown."""
    measurements: list[Measurement] = []
    op = "setup"
    try:
        setup = worker.request(setup_request(plan, target))
        if not setup["ok"]:
            return [measurement_from(plan, op, setup)], None
        for op in operations:
            measurement = measurement_from(plan, op, worker.request({"op": op}))
            measurement.problem = check_read(measurement, expected)
            measurements.append(measurement)
            if measurement.error:
                break
        op = "teardown"
        worker.request({"op": op})  # a failed teardown is in the log; the dir goes anyway
    except WorkerError as error:
        failed = {"ok": False, "error": str(error)}
        measurements.append(measurement_from(plan, op, failed))
        return measurements, None
    return measurements, setup.get("version")


def run_sequence(
    plan: RunPlan, operations: list[str], expected: Expectations
) -> tuple[list[Measurement], str | None]:
    """One run in a fresh worker, temp dir and database; the worker's stderr goes to a log."""
    LOGS_DIR.mkdir(parents=True, exist_ok=True)
    target = make_target(plan)
    log_path = LOGS_DIR / f"{plan.contender}-{plan.engine}-{plan.size}.log"
    with log_path.open("a") as log:
        log.write(f"\n=== repeat {plan.repeat}, ops {operations}, workdir {target.workdir}\n")
        log.flush()
        worker = WorkerProcess(python_for(CONTENDERS[plan.contender]), worker_env(target), log, plan.timeout)
        try:
            return drive(worker, plan, target, operations, expected)
        finally:
            worker.close()
            shutil.rmtree(target.workdir, ignore_errors=True)


def verify_operations(contender: str, repeat: int) -> list[str]:
    """Operation 5's timed calls: mrsm_jupyter also re-syncs every chunk (Meerschaum's method
    with this engine), alternating which goes first."""
    ops = ["verify", "resync_chunks"] if contender == "mrsm_jupyter" else ["verify"]
    return ops if repeat % 2 == 0 else ops[::-1]


def check_verify(measurement: Measurement, expected_checksum: float) -> str | None:
    """The changed rows must hold the source's new values after the call."""
    if measurement.error or measurement.checksum is None:
        return None
    if abs(measurement.checksum - expected_checksum) <= CHECKSUM_TOLERANCE * max(1.0, abs(expected_checksum)):
        return None
    return f"changed rows sum to {measurement.checksum:.6f} afterwards, expected {expected_checksum:.6f}"


def drive_verify(
    worker: WorkerProcess, plan: RunPlan, target: Target, repeats: int, expected_checksum: float
) -> tuple[list[Measurement], str | None]:
    """One source and pipe, then ``repeats`` rounds of the timed calls, then teardown."""
    setup = worker.request({**setup_request(plan, target), "op": "verify_setup"})
    if not setup["ok"]:
        return [measurement_from(plan, "verify_setup", setup)], None
    measurements = [measurement_from(plan, "verify_setup", setup)]
    for repeat in range(repeats):
        for op in verify_operations(plan.contender, repeat):
            measurement = measurement_from(replace(plan, repeat=repeat), op, worker.request({"op": op}))
            measurement.problem = check_verify(measurement, expected_checksum)
            measurements.append(measurement)
            if measurement.error:
                return measurements, setup.get("version")
    worker.request({"op": "verify_teardown"})
    return measurements, setup.get("version")


def run_verify_sequence(
    plan: RunPlan, repeats: int, expected_checksum: float
) -> tuple[list[Measurement], str | None]:
    """Operation 5 in a fresh worker, temp dir and database (``plan.engine``: the source's)."""
    LOGS_DIR.mkdir(parents=True, exist_ok=True)
    target = make_target(plan)
    log_path = LOGS_DIR / f"{plan.contender}-verify-{plan.engine}-{plan.size}.log"
    with log_path.open("a") as log:
        log.write(f"\n=== verify, {repeats} repeats, workdir {target.workdir}\n")
        log.flush()
        worker = WorkerProcess(python_for(CONTENDERS[plan.contender]), worker_env(target), log, plan.timeout)
        try:
            return drive_verify(worker, plan, target, repeats, expected_checksum)
        except WorkerError as error:
            return [measurement_from(plan, "verify", {"ok": False, "error": str(error)})], None
        finally:
            worker.close()
            shutil.rmtree(target.workdir, ignore_errors=True)
