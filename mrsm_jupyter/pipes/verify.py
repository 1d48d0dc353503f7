"""``pipe.verify()``: find the rows that changed anywhere in the past and re-sync only them.

Each chunk of ``[begin, end)`` is fingerprinted on both sides where the rows live: by the
instance's database, and by the source's when the source is SQL (a plugin source's rows
are fetched and fingerprinted here). One grouped scan per side fingerprints the chunk's
leaves, a grid of time slots by key buckets of about ``leaf_rows`` rows each, planned from
a cheap look at the instance's rows (count, time span, how many key buckets they fill).
Fingerprints are sums, so the leaves hold every level of the chunk's bisection at once:
equal leaves mean nothing moves, and the descent to the changed ones needs no more queries.
Only the changed leaves' rows are fetched from the source and synced; with deletes on, the
instance's rows in those leaves whose keys the source no longer has are deleted.

Settings (``parameters['verify']``): ``chunk_minutes`` (43200), ``deletes`` (False),
``leaf_rows`` (8), ``key_buckets`` (64).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from mrsm_jupyter.diagnostics.recording import recorded
from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.pipes.bounds import DEFAULT_CHUNK_MINUTES, Bound, Window, step
from mrsm_jupyter.pipes.fingerprint import (
    Fingerprint,
    Fingerprinter,
    FingerprintSpec,
    Grid,
    axis_value,
)
from mrsm_jupyter.pipes.normalize import normalize_batch, to_pandas_frame
from mrsm_jupyter.pipes.result import SyncResult

if TYPE_CHECKING:
    from mrsm_jupyter.pipes.pipe import Pipe

TimeLike = datetime | date | str | int | None
# ``fetch(pipe, begin, end)``: rows from a source that is not SQL (a %%pipe cell's fetch).
Fetcher = Callable[[Any, Bound, Bound], Any]
# Leaf ids per re-sync query (an IN list of literals, which every engine here hashes or
# sorts). Each query scans the chunk at the source again: at 10M rows, 0.1% changed, 2,048
# made it three scans of each chunk.
LEAVES_PER_QUERY = 32768


@dataclass
class VerifyResult(SyncResult):
    """What a verify checked and moved; unpacks as ``(success, message)`` like SyncResult.

    ``inserted``/``updated``/``unchanged`` count the re-synced rows; ``bytes_moved`` the rows
    brought into this process (re-synced parts, and whole chunks from a plugin source);
    ``fingerprint_bytes`` the fingerprints compared.
    """

    chunks: int = 0
    chunks_changed: int = 0
    parts: int = 0
    deleted: int = 0
    bytes_moved: int = 0
    fingerprint_bytes: int = 0

    @property
    def message(self) -> str:
        return (
            f"{self.pipe}: verified {self.chunks:,} chunk(s), {self.chunks_changed:,} changed; "
            f"re-synced {self.parts:,} part(s): inserted {self.inserted:,}, updated {self.updated:,}, "
            f"deleted {self.deleted:,} rows; moved {self.bytes_moved:,} bytes in {self.duration:.3f} s."
        )

    def _repr_html_(self) -> str:
        from html import escape  # noqa: PLC0415

        figures = {
            "chunks": f"{self.chunks:,}",
            "changed": f"{self.chunks_changed:,}",
            "parts": f"{self.parts:,}",
            "inserted": f"{self.inserted:,}",
            "updated": f"{self.updated:,}",
            "deleted": f"{self.deleted:,}",
            "bytes moved": f"{self.bytes_moved:,}",
            "duration": f"{self.duration:.3f} s",
        }
        head = "".join(f"<th>{name}</th>" for name in figures)
        cells = "".join(f"<td>{value}</td>" for value in figures.values())
        return f"<table><caption>{escape(self.pipe)}</caption><tr>{head}</tr><tr>{cells}</tr></table>"


@dataclass(frozen=True)
class VerifySettings:
    chunk_minutes: int = DEFAULT_CHUNK_MINUTES
    chunk_interval: timedelta | int | None = None
    deletes: bool = False
    leaf_rows: int = 8
    key_buckets: int = 64
    max_leaves: int = 1 << 18
    # Re-sync the whole chunk when its changed leaves hold more than this share of its rows.
    whole_chunk_share: float = 0.5

    @classmethod
    def of(cls, pipe: Pipe, chunk_interval: timedelta | int | None, deletes: bool | None) -> VerifySettings:
        given = pipe.parameters.get("verify") or {}
        return cls(
            chunk_minutes=int(given.get("chunk_minutes", DEFAULT_CHUNK_MINUTES)),
            chunk_interval=chunk_interval,
            deletes=bool(given.get("deletes", False)) if deletes is None else deletes,
            leaf_rows=max(1, int(given.get("leaf_rows", cls.leaf_rows))),
            key_buckets=max(1, int(given.get("key_buckets", cls.key_buckets))),
        )

    def interval_for(self, bound: Bound) -> timedelta | int:
        if self.chunk_interval is not None:
            return self.chunk_interval
        return self.chunk_minutes if isinstance(bound, int) else timedelta(minutes=self.chunk_minutes)


@dataclass
class VerifyContext:
    """One verify: the pipe, both sides, and what the instance's table holds."""

    pipe: Pipe
    settings: VerifySettings
    source: Fingerprinter
    instance: Fingerprinter
    instance_types: dict[str, str]

    def spec_for(self, window: Window) -> FingerprintSpec:
        """Columns both sides have, sorted by name, typed by the instance's table."""
        shared = sorted(set(self.source.column_names(window)) & set(self.instance_types))
        dt = self.pipe.columns.get("datetime")
        keys = tuple(k for k in self.pipe.key_columns if k != dt and k in shared)
        columns = tuple((name, self.instance_types[name]) for name in shared)
        return FingerprintSpec(columns, dt if dt in shared else None, keys)


@recorded("verify")
def verify_pipe(
    pipe: Pipe,
    begin: TimeLike = None,
    end: TimeLike = None,
    chunk_interval: timedelta | int | None = None,
    deletes: bool | None = None,
    progress: bool = False,
    fetch: Fetcher | None = None,
    source: Fingerprinter | None = None,
) -> VerifyResult:
    """Compare ``[begin, end)`` chunk by chunk with the source and re-sync what differs.

    ``source`` stands in for the pipe's source connector (a local cache compares itself
    with the remote instance's copy of the pipe this way).
    """
    started = time.perf_counter()
    settings = VerifySettings.of(pipe, chunk_interval, deletes)
    result = VerifyResult(str(pipe))
    windows = verify_windows(pipe, begin, end, settings)
    if windows:
        instance, types = _instance_side(pipe)
        compared = source if source is not None else source_fingerprints(pipe, fetch)
        context = VerifyContext(pipe, settings, compared, instance, types)
        for window in _with_progress(windows, pipe, progress):
            verify_chunk(context, window, result)
        result.bytes_moved = context.source.bytes_read + context.instance.bytes_read
    result.duration = time.perf_counter() - started
    return result


def _instance_side(pipe: Pipe) -> tuple[Fingerprinter, dict[str, str]]:
    types = pipe.get_columns_types()
    if not types:
        raise PipeError(pipe, "has no table to verify yet.", "Sync it first: pipe.sync().")
    if not pipe.key_columns:
        raise PipeError(
            pipe,
            "has no key columns, so re-synced rows could not replace their old copies.",
            "Set columns={'datetime': ..., 'id': ...} and edit the pipe.",
        )
    return pipe.instance_connector.pipe_fingerprints(pipe), types


def verify_windows(pipe: Pipe, begin: TimeLike, end: TimeLike, settings: VerifySettings) -> list[Window]:
    """Chunks of ``[begin, end)``; by default from the oldest to just past the newest sync time."""
    given = Window.of(begin, end)
    if not pipe.columns.get("datetime"):
        return [given]
    low = given.begin if given.begin is not None else pipe.get_sync_time(newest=False)
    high = given.end
    if high is None:
        newest = pipe.get_sync_time()
        tick = 1 if isinstance(newest, int) else timedelta(microseconds=1)
        high = None if newest is None else step(newest, tick)
    if low is None or high is None:
        return []
    return list(Window(low, high).chunks(settings.interval_for(low)))


def _with_progress(windows: list[Window], pipe: Pipe, progress: bool) -> Iterable[Window]:
    if not progress:
        return windows
    from tqdm.auto import tqdm  # noqa: PLC0415 (only when a bar is wanted)

    return tqdm(windows, desc=f"verify {pipe}", unit="chunk")


def source_fingerprints(pipe: Pipe, fetch: Fetcher | None) -> Fingerprinter:
    """The source side: fingerprinted by the source's database when it is SQL, else the
    fetched rows are fingerprinted here."""
    source = pipe.source_connector if fetch is None else None
    make = getattr(source, "fetch_fingerprints", None)
    if make is not None:
        made: Fingerprinter = make(pipe)
        return made
    if fetch is None:
        if source is None or not hasattr(source, "fetch"):
            raise PipeError(
                pipe,
                f"has no source to verify against ({pipe.connector_keys!r} is only a label).",
                "Give the pipe a source connector (e.g. 'sql:src' with a fetch definition).",
            )
        fetch = _connector_fetch(source)
    from mrsm_jupyter.connectors.sql.fingerprint import ArrowFingerprints  # noqa: PLC0415 (sqlalchemy)

    fetcher = fetch

    def load(window: Window) -> pa.Table:
        return fetched_table(pipe, fetcher(pipe, window.begin, window.end))

    return ArrowFingerprints(load, pipe.columns.get("datetime"))


def _connector_fetch(source: Any) -> Fetcher:
    def fetch(pipe: Any, begin: Bound, end: Bound) -> Any:
        return source.fetch(pipe, Window(begin, end))

    return fetch


def fetched_table(pipe: Pipe, fetched: Any) -> pa.Table:
    """Whatever a fetch returned (one batch, an iterator of batches, None) as one table."""
    if fetched is None:
        return pa.table({})
    batches = fetched if isinstance(fetched, Iterator) else [fetched]
    tables = [_normalized(pipe, batch) for batch in batches]
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="permissive")


def _normalized(pipe: Pipe, batch: Any) -> pa.Table:
    frame = to_pandas_frame(batch, pipe)
    if len(frame) == 0:
        return pa.table({})
    return normalize_batch(frame, pipe.dtypes, pipe.key_columns, pipe.columns.get("datetime"), pipe)


def verify_chunk(context: VerifyContext, window: Window, result: VerifyResult) -> None:
    """Compare one chunk leaf by leaf; re-sync its changed leaves (all of it when most changed)."""
    result.chunks += 1
    spec = context.spec_for(window)
    # The grid is planned from the instance's rows; hashing only keys and time is cheap.
    shape = context.instance.summary(window, key_spec(spec))
    if shape.rows == 0:  # nothing stored yet: everything the source has must come over
        result.chunks_changed += 1
        resync_part(context, window, spec, None, None, result)
        return
    grid = plan_grid(spec, context.settings, window, shape)
    source_leaves, instance_leaves = both_leaves(context, window, spec, grid)
    result.fingerprint_bytes += source_leaves.nbytes + instance_leaves.nbytes
    changed, changed_rows = changed_leaves(source_leaves, instance_leaves)
    if not changed:
        return
    result.chunks_changed += 1
    result.parts += count_runs(changed)
    chunk_rows = max(shape.rows, int(pc.sum(source_leaves.column("mrsm_n")).as_py() or 0))
    if changed_rows > context.settings.whole_chunk_share * chunk_rows:
        resync_part(context, window, spec, None, None, result)
        return
    for start in range(0, len(changed), LEAVES_PER_QUERY):
        batch = changed[start : start + LEAVES_PER_QUERY]
        resync_part(context, grid.slot_window(batch, spec.axis, window), spec, grid, batch, result)


def both_leaves(
    context: VerifyContext, window: Window, spec: FingerprintSpec, grid: Grid
) -> tuple[pa.Table, pa.Table]:
    """Both sides' leaves, hashed at the same time: each side's database hashes every row of
    the chunk (most of a verify's time), and the two are different databases, or one that
    serializes its own sessions."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mrsm-verify") as pool:
        source = pool.submit(context.source.leaves, window, spec, grid)
        instance = context.instance.leaves(window, spec, grid)
        return source.result(), instance


def key_spec(spec: FingerprintSpec) -> FingerprintSpec:
    """The spec restricted to the datetime and key columns (for a chunk's shape)."""
    kept = {*spec.key_columns, spec.datetime_column}
    return replace(spec, columns=tuple((name, dtype) for name, dtype in spec.columns if name in kept))


def plan_grid(spec: FingerprintSpec, settings: VerifySettings, window: Window, shape: Fingerprint) -> Grid:
    """Leaves of about ``leaf_rows`` rows: time slots from the window's start (so that no row
    falls before slot 0) as wide as the rows' span needs, by as many key buckets as the keys fill."""
    leaves = max(1, min(settings.max_leaves, -(-shape.rows // settings.leaf_rows)))
    # No more buckets than the keys fill: with 4 sensors, 64 buckets would leave 60 empty.
    buckets = max(1, min(settings.key_buckets, shape.key_spread, leaves)) if spec.key_columns else 1
    if spec.axis is None or shape.low is None or shape.high is None:
        return Grid(0, 1, buckets)
    origin = shape.low if window.begin is None else min(shape.low, axis_value(window.begin))
    slots = -(-leaves // buckets)
    return Grid(origin, max(1, -(-(shape.high + 1 - shape.low) // slots)), buckets)


def changed_leaves(source: pa.Table, instance: pa.Table) -> tuple[list[int], int]:
    """Ids of the leaves whose fingerprints differ, in order, and how many rows they hold."""
    joined = source.join(instance, "mrsm_leaf", join_type="full outer", left_suffix="_s", right_suffix="_i")
    counts = [pc.fill_null(joined.column(f"mrsm_n{side}"), 0) for side in ("_s", "_i")]
    sums = [pc.fill_null(joined.column(f"mrsm_sum{side}"), -1) for side in ("_s", "_i")]
    differs = pc.or_(pc.not_equal(*counts), pc.not_equal(*sums))
    changed = joined.filter(differs)
    rows = pc.sum(pc.max_element_wise(*(pc.filter(c, differs) for c in counts))).as_py()
    return sorted(changed.column("mrsm_leaf").to_pylist()), int(rows or 0)


def count_runs(leaves: Sequence[int]) -> int:
    """How many runs of consecutive ids (parts of the chunk) the changed leaves make."""
    return sum(1 for i, leaf in enumerate(leaves) if i == 0 or leaf != leaves[i - 1] + 1)


def resync_part(
    context: VerifyContext,
    window: Window,
    spec: FingerprintSpec,
    grid: Grid | None,
    leaves: Sequence[int] | None,
    result: VerifyResult,
) -> None:
    """Sync the source's rows of a part; with deletes on, delete the rows it no longer has."""
    pipe = context.pipe
    fetched = context.source.rows(window, spec, grid, leaves, None)
    rows = _normalized(pipe, fetched) if fetched.num_rows else pa.table({})
    if rows.num_rows:
        result.add(pipe.sync(rows))
    if context.settings.deletes:
        keys = [k for k in pipe.key_columns if k in context.instance_types]
        present = context.instance.rows(window, spec, grid, leaves, keys)
        missing = absent_keys(present, rows, keys)
        if missing.num_rows:
            result.deleted += pipe.instance_connector.delete_pipe_rows(pipe, missing)


def absent_keys(present: pa.Table, rows: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The rows of ``present`` (key columns) whose keys no row of ``rows`` has."""
    if not present.num_rows or any(k not in rows.column_names for k in keys):
        return present
    kept = set(zip(*(rows.column(k).to_pylist() for k in keys), strict=True))
    mask = [key not in kept for key in zip(*(present.column(k).to_pylist() for k in keys), strict=True)]
    return present.filter(pa.array(mask, pa.bool_()))
