"""Run the benchmark: every contender, engine and size, alternating contenders between repeats.

    bash bench/setup.sh && .venv/bin/python bench/run.py --sizes 100000 1000000 --repeats 3

Each run (one contender, engine, size and repeat) gets a fresh worker process, a fresh temp
dir and a freshly created PostgreSQL database, then performs the operations in order. The
markdown report goes to stdout and to ``bench/results/latest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.contenders import CONTENDERS, ENGINES
from bench.postgres_admin import ensure_database, server_available
from bench.report import Measurement, RunRecord, load_record, render_report
from bench.runner import (
    RESULTS_DIR,
    Expectations,
    RunPlan,
    expectations_for,
    python_for,
    run_sequence,
    run_verify_sequence,
)
from bench.workload import VALUE_COLUMNS, changed_past_rows

OPERATIONS = ["load", "upsert", "resync", "read_all", "read_window"]
DEFAULT_CAPS = ["meerschaum:duckdb=100000"]
VERIFY_SIZES = (100_000, 1_000_000)
VERIFY_CONTENDERS = ("mrsm_jupyter", "meerschaum")
# Operation 5's pipe lives on DuckDB whatever its source: caps on DuckDB apply.
VERIFY_INSTANCE = "duckdb"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    parser.add_argument(
        "--cap",
        action="append",
        metavar="CONTENDER:ENGINE=ROWS",
        help=f"largest size a contender runs on an engine (default: {' '.join(DEFAULT_CAPS)})",
    )
    parser.add_argument("--full", action="store_true", help="no size caps: run everything")
    parser.add_argument("--memory-size", type=int, default=1_000_000, help="0 disables")
    parser.add_argument("--memory-contenders", nargs="+", default=["raw", "mrsm_jupyter"])
    parser.add_argument(
        "--verify-sizes",
        type=int,
        nargs="*",
        help="operation 5's pipe sizes (default 100000 1000000, plus 10000000 with --full; none to skip)",
    )
    parser.add_argument("--verify-contenders", nargs="+", default=list(VERIFY_CONTENDERS))
    parser.add_argument("--verify-only", action="store_true", help="skip operations 1-4 and peak memory")
    parser.add_argument("--pg-database", default="mrsm_bench", help="prefix of scratch databases")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per operation")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.md")
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="only re-render the report of a saved run"
    )
    return parser.parse_args(argv)


def parse_caps(args: argparse.Namespace) -> dict[tuple[str, str], int]:
    if args.full:
        return {}
    caps: dict[tuple[str, str], int] = {}
    for text in args.cap if args.cap is not None else DEFAULT_CAPS:
        key, _, rows = text.partition("=")
        contender, _, engine = key.partition(":")
        if contender not in CONTENDERS or engine not in ENGINES or not rows.isdigit():
            raise SystemExit(f"--cap {text!r}: expected CONTENDER:ENGINE=ROWS, e.g. meerschaum:duckdb=100000")
        caps[(contender, engine)] = int(rows)
    return caps


def available_engines(args: argparse.Namespace, record: RunRecord) -> list[str]:
    engines = list(args.engines)
    if "postgresql" in engines:
        if server_available():
            ensure_database(args.pg_database)
        else:
            engines.remove("postgresql")
            record.skipped.append("- postgresql: no server at localhost:5432")
    return engines


def active_contenders(args: argparse.Namespace, record: RunRecord) -> list[str]:
    active: list[str] = []
    for name in args.contenders:
        if python_for(CONTENDERS[name]).exists():
            active.append(name)
        else:
            record.skipped.append(f"- {name}: venv missing, run `bash bench/setup.sh`")
    return active


def runnable(name: str, engine: str, size: int, caps: dict[tuple[str, str], int], record: RunRecord) -> bool:
    cap = caps.get((name, engine))
    if cap is None or size <= cap:
        return True
    record.skipped.append(f"- {name} on {engine} at n = {size:,}: over its cap of {cap:,} (use --full)")
    return False


def rotated(names: list[str], repeat: int) -> list[str]:
    """The contenders in a different order each repeat, so none always runs first."""
    shift = repeat % len(names) if names else 0
    return names[shift:] + names[:shift]


def execute(
    plan: RunPlan, operations: list[str], expected: Expectations, record: RunRecord
) -> list[Measurement]:
    measurements, version = run_sequence(plan, operations, expected)
    if version is not None:
        record.versions[f"{plan.contender}/{plan.engine}"] = version
    done = ", ".join(
        f"{m.op} {'FAILED' if m.error else f'{m.seconds:.3f} s'}{' †' if m.problem else ''}"
        for m in measurements
    )
    print(
        f"[n={plan.size:,} {plan.engine} #{plan.repeat + 1}] {plan.contender}: {done}",
        file=sys.stderr,
    )
    return measurements


def run_matrix(args: argparse.Namespace, record: RunRecord, names: list[str]) -> None:
    caps = parse_caps(args)
    for size in args.sizes:
        expected = expectations_for(size)
        record.frame_bytes[size] = expected.frame_bytes
        for engine in record.engines:
            runnable_names = [n for n in names if runnable(n, engine, size, caps, record)]
            for repeat in range(args.repeats):
                for name in rotated(runnable_names, repeat):
                    plan = RunPlan(name, engine, size, repeat, args.pg_database, args.timeout)
                    record.measurements += execute(plan, OPERATIONS, expected, record)


def run_memory(args: argparse.Namespace, record: RunRecord, names: list[str]) -> None:
    """Peak memory of the initial load: taken from the matrix, or from a dedicated fresh run."""
    size = args.memory_size
    if size <= 0:
        return
    wanted = [name for name in args.memory_contenders if name in names]
    if size in args.sizes:
        record.memory = [
            m for m in record.measurements if m.size == size and m.op == "load" and m.contender in wanted
        ]
        return
    expected = expectations_for(size)
    record.frame_bytes[size] = expected.frame_bytes
    for engine in record.engines:
        for name in wanted:
            plan = RunPlan(name, engine, size, 0, args.pg_database, args.timeout)
            record.memory += execute(plan, ["load"], expected, record)


def verify_sizes(args: argparse.Namespace) -> list[int]:
    if args.verify_sizes is not None:
        return [size for size in args.verify_sizes if size > 0]
    return [*VERIFY_SIZES, 10_000_000] if args.full else list(VERIFY_SIZES)


def run_verify(args: argparse.Namespace, record: RunRecord, names: list[str]) -> None:
    """Operation 5 per size, source engine and contender: one worker each, repeats inside it."""
    caps = parse_caps(args)
    for size in verify_sizes(args):
        expected = float(changed_past_rows(size)[VALUE_COLUMNS[0]].sum())
        record.frame_bytes[size] = expectations_for(size).frame_bytes
        for engine in record.engines:
            for name in [n for n in args.verify_contenders if n in names]:
                if not runnable(name, VERIFY_INSTANCE, size, caps, record):
                    continue
                plan = RunPlan(name, engine, size, 0, args.pg_database, args.timeout)
                measurements, version = run_verify_sequence(plan, args.repeats, expected)
                if version is not None:
                    record.versions[f"{name}/verify"] = version
                record.verify += measurements
                done = ", ".join(
                    f"{m.op} {'FAILED' if m.error else f'{m.seconds:.3f} s'}{' †' if m.problem else ''}"
                    for m in measurements
                )
                print(f"[verify n={size:,} from {engine}] {name}: {done}", file=sys.stderr)


def new_record(args: argparse.Namespace, argv: list[str]) -> RunRecord:
    load_average = os.getloadavg()[0]
    return RunRecord(
        command=shlex.join(["bench/run.py", *argv]),
        started=datetime.now().isoformat(timespec="seconds"),
        machine=f"{os.cpu_count()} cores, load average {load_average:.2f} at start",
        sizes=list(args.sizes),
        engines=list(args.engines),
        contenders=list(args.contenders),
    )


def write_report(record: RunRecord, output: Path) -> None:
    report = render_report(record, OPERATIONS)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report)
    output.with_suffix(".json").write_text(json.dumps(asdict(record), indent=1))
    print(report)


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    args = parse_args(arguments)
    if args.render is not None:
        write_report(load_record(json.loads(args.render.read_text())), args.output)
        return
    record = new_record(args, arguments)
    record.engines = available_engines(args, record)
    names = active_contenders(args, record)
    record.contenders = [name for name in record.contenders if name in names]
    if not args.verify_only:
        run_matrix(args, record, names)
        run_memory(args, record, names)
    run_verify(args, record, names)
    write_report(record, args.output)


if __name__ == "__main__":
    main()
