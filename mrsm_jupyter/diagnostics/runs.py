"""Reading run records, and the summaries the dashboards show (all pandas, no plotting).

>>> runs = get_runs(instance="sql:memory")
>>> list(runs.columns)[:3], len(runs)
(['kind', 'connector_keys', 'metric_key'], 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.diagnostics.records import RUN_COLUMNS
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.frames import to_frame
from mrsm_jupyter.pipes.keys import split_negation

TimeLike = datetime | str | None
# A pipe or job is behind when its last good run is older than this many typical intervals.
BEHIND_FACTOR = 2.0
# Runs needed before the typical interval between them means anything.
MIN_RUNS_FOR_SCHEDULE = 3
# Runs closer than this are someone at work in a notebook, not a schedule.
MIN_SCHEDULE_INTERVAL = timedelta(minutes=1)
_KEY_COLUMNS = ("connector_keys", "metric_key", "location_key")


def get_runs(
    instance: str | None = None,
    begin: TimeLike = None,
    end: TimeLike = None,
    kinds: Sequence[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Runs recorded on ``instance`` that started in ``[begin, end)``, oldest first.

    Columns are those of ``mrsm_runs`` (see ``diagnostics/records.py``) plus ``name`` (the
    pipe's keys joined by ``/``, or the job's name), ``rows`` and ``ended``.
    """
    table = get_connector(instance).read_runs(Window.of(begin, end), kinds, limit)
    runs = to_frame(table, RUN_COLUMNS)
    keys = runs[list(_KEY_COLUMNS)].astype("object").where(runs[list(_KEY_COLUMNS)].notna(), None)
    names = [
        job if kind == "job" else "/".join(str(k) for k in row if k is not None)
        for kind, job, row in zip(runs["kind"], runs["job"], keys.itertuples(index=False), strict=True)
    ]
    runs["name"] = pd.Series(names, index=runs.index, dtype="string")
    runs["rows"] = runs["inserted"] + runs["updated"] + runs["unchanged"]
    runs["ended"] = runs["started"] + pd.to_timedelta(runs["duration"], unit="s")
    return runs


def filter_keys(
    runs: pd.DataFrame,
    connector_keys: Sequence[str | None],
    metric_keys: Sequence[str | None],
    location_keys: Sequence[str | None],
) -> pd.DataFrame:
    """Pipe runs matching the keys (``_key`` excludes), as ``get_pipes`` matches them;
    job runs are kept only when no keys are given."""
    keep = pd.Series(True, index=runs.index)
    for column, keys in zip(_KEY_COLUMNS, (connector_keys, metric_keys, location_keys), strict=True):
        include, exclude = split_negation(keys)
        values = runs[column].astype("object").where(runs[column].notna(), None)
        if include:
            keep &= values.isin(include) & (runs["kind"] != "job")
        if exclude:
            keep &= ~values.isin(exclude)
    return runs[keep]


def bucket_for(runs: pd.DataFrame) -> str:
    """A time bucket giving about 50 points over the runs' span (a minute at least)."""
    if runs.empty:
        return "1min"
    span = (runs["started"].max() - runs["started"].min()) / 50
    for bucket, width in (("1min", 60), ("5min", 300), ("15min", 900), ("1h", 3600), ("6h", 21600)):
        if span <= timedelta(seconds=width):
            return bucket
    return "1D"


def throughput(runs: pd.DataFrame, bucket: str | None = None) -> pd.DataFrame:
    """Per time bucket of successful sync runs (failures have their own panel): ``runs``,
    ``rows``, ``rows_per_second`` (rows over time spent syncing), median and 95th percentile
    ``latency`` (seconds per run)."""
    syncs = runs[(runs["kind"] == "sync") & runs["success"].astype(bool)]
    columns = ["started", "runs", "rows", "rows_per_second", "latency_p50", "latency_p95"]
    if syncs.empty:
        return pd.DataFrame(columns=columns)
    grouped = syncs.groupby(pd.Grouper(key="started", freq=bucket or bucket_for(syncs)))
    frame = grouped.agg(
        runs=("duration", "size"),
        rows=("rows", "sum"),
        seconds=("duration", "sum"),
        latency_p50=("duration", "median"),
        latency_p95=("duration", lambda d: d.quantile(0.95)),
    )
    frame = frame[frame["runs"] > 0]
    frame["rows_per_second"] = frame["rows"] / frame["seconds"].where(frame["seconds"] > 0)
    return frame.reset_index()[columns]


def rows_per_pipe(runs: pd.DataFrame) -> pd.DataFrame:
    """Per pipe (syncs and verifies): runs, rows inserted, updated, unchanged, bytes, failures."""
    pipes = runs[runs["kind"] != "job"]
    frame = pipes.groupby("name").agg(
        runs=("kind", "size"),
        inserted=("inserted", "sum"),
        updated=("updated", "sum"),
        unchanged=("unchanged", "sum"),
        bytes=("bytes", "sum"),
        failed=("success", lambda s: int((~s.astype(bool)).sum())),
        last_run=("started", "max"),
    )
    return frame.sort_values("inserted", ascending=False).reset_index()


def failed_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that failed, newest first, with their error text."""
    failed = runs[~runs["success"].astype(bool)]
    columns = ["started", "kind", "name", "duration", "exit_code", "error"]
    return failed.sort_values("started", ascending=False)[columns].reset_index(drop=True)


def job_restarts(runs: pd.DataFrame) -> pd.DataFrame:
    """Per job: runs, failed runs, restarts so far (its start count minus one) and last exit code."""
    jobs = runs[runs["kind"] == "job"].sort_values("started")
    frame = jobs.groupby("name").agg(
        runs=("kind", "size"),
        failed=("success", lambda s: int((~s.astype(bool)).sum())),
        restarts=("restarts", "max"),
        last_exit_code=("exit_code", "last"),
        last_run=("started", "max"),
    )
    return frame.sort_values("restarts", ascending=False).reset_index()


def behind_schedule(runs: pd.DataFrame, now: datetime | None = None) -> pd.DataFrame:
    """Pipes and jobs whose last successful run is older than ``BEHIND_FACTOR`` times their
    typical interval (the median time between their successful runs in the frame).

    Runs carry no schedule, so the rhythm they kept is the schedule they are held to; a
    pipe with fewer than ``MIN_RUNS_FOR_SCHEDULE`` good runs, or a rhythm faster than
    ``MIN_SCHEDULE_INTERVAL``, has none.
    """
    now = now or datetime.now(UTC)
    good = runs[runs["success"].astype(bool) & (runs["kind"] != "verify")].sort_values("started")
    rows = []
    for name, group in good.groupby("name"):
        if len(group) < MIN_RUNS_FOR_SCHEDULE:
            continue
        interval = pd.Timedelta(group["started"].diff().median())
        last = pd.Timestamp(group["started"].iloc[-1])
        late = pd.Timestamp(now) - last
        if interval >= MIN_SCHEDULE_INTERVAL and late > BEHIND_FACTOR * interval:
            rows.append((name, group["kind"].iloc[-1], last, interval, late))
    columns = ["name", "kind", "last_success", "interval", "late_by"]
    return pd.DataFrame(rows, columns=columns).sort_values("late_by", ascending=False, ignore_index=True)
