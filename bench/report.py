"""Medians, ratios to the raw limit, and the markdown report of one benchmark run."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

RAW = "raw"
ENGINE_LABELS = {"duckdb": "DuckDB", "postgresql": "PostgreSQL"}


@dataclass
class Measurement:
    """One timed operation of one run (a run: one contender, engine, size and repeat)."""

    size: int
    engine: str
    contender: str
    repeat: int
    op: str
    seconds: float | None = None
    error: str | None = None
    problem: str | None = None
    rows: int | None = None
    checksum: float | None = None
    note: str | None = None
    variant: str | None = None
    variants: dict[str, float] = field(default_factory=dict)
    peak_rss_delta: int | None = None
    bytes_moved: int | None = None


@dataclass
class RunRecord:
    """Everything the report shows."""

    command: str
    started: str
    machine: str
    sizes: list[int]
    engines: list[str]
    contenders: list[str]
    versions: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    memory: list[Measurement] = field(default_factory=list)
    frame_bytes: dict[int, int] = field(default_factory=dict)
    verify: list[Measurement] = field(default_factory=list)


def op_label(op: str, size: int) -> str:
    batch = f"{size // 10:,}"
    labels = {
        "load": "initial load",
        "upsert": f"upsert {batch}",
        "resync": f"identical re-sync {batch}",
        "read_all": "read all to pandas",
        "read_window": "one-day window, one id",
        "verify": "verify 0.1% changed",
    }
    return labels.get(op, op)


def format_seconds(seconds: float) -> str:
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 10:
        return f"{seconds:.3f} s"
    return f"{seconds:.0f} s"


def format_ratio(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def format_bytes(count: float) -> str:
    return f"{count / 2**20:,.0f} MiB"


def selected(
    measurements: Iterable[Measurement], size: int, engine: str, contender: str, op: str
) -> list[Measurement]:
    return [m for m in measurements if (m.size, m.engine, m.contender, m.op) == (size, engine, contender, op)]


def median_seconds(runs: list[Measurement]) -> float | None:
    timed = [m.seconds for m in runs if m.seconds is not None and m.error is None]
    return statistics.median(timed) if timed else None


def cell(runs: list[Measurement], raw_median: float | None, is_raw: bool) -> str:
    """``0.31 s (1.2x)``; ``[2/3]`` when some repeats failed; ``†`` marks a wrong read."""
    if not runs:
        return "skipped"
    median = median_seconds(runs)
    if median is None:
        return "failed"
    text = format_seconds(median)
    if not is_raw and raw_median:
        text += f" ({format_ratio(median / raw_median)})"
    succeeded = sum(1 for m in runs if m.error is None)
    if succeeded < len(runs):
        text += f" [{succeeded}/{len(runs)}]"
    if any(m.problem for m in runs):
        text += " †"
    return text


def results_table(record: RunRecord, size: int, operations: list[str]) -> str:
    header = f"| n = {size:,} | " + " | ".join(record.contenders) + " |"
    lines = [header, "|---" * (len(record.contenders) + 1) + "|"]
    for engine in record.engines:
        for op in operations:
            raw_median = median_seconds(selected(record.measurements, size, engine, RAW, op))
            cells = [
                cell(selected(record.measurements, size, engine, name, op), raw_median, name == RAW)
                for name in record.contenders
            ]
            label = f"{ENGINE_LABELS.get(engine, engine)} {op_label(op, size)}"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_row(record: RunRecord, runs: list[Measurement]) -> str:
    first = runs[0]
    frame = record.frame_bytes.get(first.size)
    peaks = [m.peak_rss_delta for m in runs if m.peak_rss_delta is not None and not m.error]
    frame_text = format_bytes(frame) if frame else "—"
    if not peaks or not frame:
        peak_text, ratio = "not measured", "—"
    else:
        peak = statistics.median(peaks)
        peak_text, ratio = format_bytes(peak), f"{peak / frame:.2f}x"
    return (
        f"| {ENGINE_LABELS.get(first.engine, first.engine)} | {first.contender} | {first.size:,} "
        f"| {frame_text} | {peak_text} | {ratio} |"
    )


def memory_table(record: RunRecord) -> str:
    """Median peak RSS during the load, above the worker's RSS just before it."""
    lines = [
        "| engine | contender | rows | frame (deep) | peak RSS above start | ratio |",
        "|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[int, str, str], list[Measurement]] = {}
    for m in record.memory:
        groups.setdefault((m.size, m.engine, m.contender), []).append(m)
    lines += [memory_row(record, runs) for runs in groups.values()]
    return "\n".join(lines)


def variant_notes(record: RunRecord) -> list[str]:
    notes: list[str] = []
    for size in record.sizes:
        for engine in record.engines:
            runs = selected(record.measurements, size, engine, RAW, "read_all")
            names = sorted({name for m in runs for name in m.variants})
            if len(names) < 2:
                continue
            medians = {n: statistics.median(m.variants[n] for m in runs if n in m.variants) for n in names}
            listed = ", ".join(
                f"{n} {format_seconds(s)}" for n, s in sorted(medians.items(), key=lambda x: x[1])
            )
            notes.append(f"- raw {engine} read all, n = {size:,}: {listed}")
    return notes


def first_line(text: str, limit: int = 400) -> str:
    """Errors can span pages (dlt's do): the report keeps the start, the JSON keeps all."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def outcome_notes(record: RunRecord) -> list[str]:
    """What each contender reported for its writes (last repeat), errors and problems."""
    notes: list[str] = []
    last: dict[tuple[int, str, str, str], Measurement] = {}
    for m in record.measurements:
        last[(m.size, m.engine, m.contender, m.op)] = m
    for (size, engine, contender, op), m in sorted(last.items()):
        if m.note:
            notes.append(f"- {contender} {engine} {op} (n = {size:,}): {m.note}")
    for m in record.measurements + record.memory:
        if m.error or m.problem:
            what = f"error: {first_line(m.error)}" if m.error else f"† {m.problem}"
            notes.append(f"- {m.contender} {m.engine} {m.op} (n = {m.size:,}, repeat {m.repeat}): {what}")
    return notes


VERIFY_METHODS = (
    ("mrsm_jupyter", "verify", "mrsm_jupyter `pipe.verify()`"),
    ("mrsm_jupyter", "resync_chunks", "re-sync every chunk (Meerschaum's method, this engine)"),
    ("meerschaum", "verify", "Meerschaum 4.1.7 `pipe.verify()`"),
)


def verify_row(record: RunRecord, size: int, engine: str, method: tuple[str, str, str]) -> str | None:
    contender, op, label = method
    runs = selected(record.verify, size, engine, contender, op)
    if not runs:
        return None
    median = median_seconds(runs)
    ours = median_seconds(selected(record.verify, size, engine, "mrsm_jupyter", "verify"))
    moved = [m.bytes_moved for m in runs if m.bytes_moved is not None]
    pipe_bytes = record.frame_bytes.get(size)
    moved_text = f"{statistics.median(moved) / 2**20:,.2f} MiB" if moved else "not reported"
    share = f"{statistics.median(moved) / pipe_bytes:.2%}" if moved and pipe_bytes else "—"
    time_text = "failed" if median is None else format_seconds(median)
    ratio = format_ratio(median / ours) if median is not None and ours else "—"
    mark = " †" if any(m.problem for m in runs) else ""
    source = ENGINE_LABELS.get(engine, engine)
    return f"| {source} | {size:,} | {label} | {time_text}{mark} | {ratio} | {moved_text} | {share} |"


def verify_table(record: RunRecord) -> str:
    """Operation 5: each method's median time over mrsm_jupyter's verify, and the bytes moved."""
    lines = [
        "| source (instance: DuckDB) | rows | method | median | ÷ verify | bytes moved | share of the pipe |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sorted({m.size for m in record.verify}):
        for engine in record.engines:
            rows = [verify_row(record, size, engine, method) for method in VERIFY_METHODS]
            lines += [row for row in rows if row is not None]
    return "\n".join(lines)


def verify_notes(record: RunRecord) -> list[str]:
    last: dict[tuple[int, str, str, str], Measurement] = {}
    for m in record.verify:
        last[(m.size, m.engine, m.contender, m.op)] = m
    notes = [
        f"- {c} {op} from {e} (n = {n:,}): {first_line(m.note)}"
        for (n, e, c, op), m in sorted(last.items())
        if m.note
    ]
    notes += [
        f"- {m.contender} {m.op} from {m.engine} (n = {m.size:,}, repeat {m.repeat}): "
        + (f"error: {first_line(m.error)}" if m.error else f"† {m.problem}")
        for m in record.verify
        if m.error or m.problem
    ]
    return notes


def render_report(record: RunRecord, operations: list[str]) -> str:
    parts = [
        "# Benchmark results",
        "",
        f"Run `{record.command}` on {record.started}; {record.machine}.",
        "Medians of the repeats; in parentheses the contender's median over the raw limit's;",
        "`[k/n]`: only k of n repeats succeeded; `†`: a read returned wrong rows (see the notes).",
        "",
        "Versions: " + ", ".join(sorted(set(record.versions.values()))),
    ]
    for size in sorted({m.size for m in record.measurements}):
        parts += ["", results_table(record, size, operations)]
    if record.memory:
        parts += ["", "## Peak memory of the initial load", "", memory_table(record)]
    if record.verify:
        parts += ["", "## Verify with 0.1% of past rows changed at the source", "", verify_table(record)]
    parts += ["", "## Notes", ""]
    parts += record.skipped or ["- nothing skipped"]
    parts += variant_notes(record) + outcome_notes(record) + verify_notes(record)
    return "\n".join(parts) + "\n"


def load_record(data: dict[str, Any]) -> RunRecord:
    """A :class:`RunRecord` back from the JSON that ``bench/run.py`` writes beside the report."""
    fields = dict(data)
    fields["measurements"] = [Measurement(**m) for m in data["measurements"]]
    fields["memory"] = [Measurement(**m) for m in data["memory"]]
    fields["frame_bytes"] = {int(size): count for size, count in data["frame_bytes"].items()}
    fields["verify"] = [Measurement(**m) for m in data.get("verify", [])]
    return RunRecord(**fields)
