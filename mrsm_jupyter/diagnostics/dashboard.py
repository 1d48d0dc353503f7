"""The diagnostics dashboard: one plotly figure of six panels drawn from run records.

Throughput and latency of syncs over time, rows per pipe, failed runs over time, job
restarts, and the pipes and jobs that fell behind their rhythm. The panels are the same
as Grafana's (``grafana/dashboards/mrsm-runs.json``), which reads ``mrsm_runs`` in SQL.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mrsm_jupyter.diagnostics.runs import (
    behind_schedule,
    bucket_for,
    failed_runs,
    job_restarts,
    rows_per_pipe,
    throughput,
)

PANEL_TITLES = (
    "Sync throughput (rows/s)",
    "Sync latency (s)",
    "Rows per pipe",
    "Failed runs",
    "Job restarts",
    "Behind schedule",
)
_SPECS = [
    [{"type": "xy"}, {"type": "xy"}],
    [{"type": "xy"}, {"type": "xy"}],
    [{"type": "xy"}, {"type": "table"}],
]


def dashboard_figure(runs: pd.DataFrame, title: str, now: datetime | None = None) -> go.Figure:
    """The six panels of ``runs`` (a frame from :func:`~mrsm_jupyter.diagnostics.runs.get_runs`)."""
    figure = make_subplots(rows=3, cols=2, subplot_titles=PANEL_TITLES, specs=_SPECS, vertical_spacing=0.1)
    _throughput_panels(figure, runs)
    pipes = rows_per_pipe(runs)
    for column in ("inserted", "updated", "unchanged"):
        figure.add_trace(go.Bar(x=pipes["name"], y=pipes[column], name=column), row=2, col=1)
    _failures_panel(figure, runs)
    jobs = job_restarts(runs)
    figure.add_trace(
        go.Bar(x=jobs["name"], y=jobs["restarts"], name="restarts", marker_color="#d62728"), row=3, col=1
    )
    late = behind_schedule(runs, now)
    cells = [
        late["name"].tolist(),
        late["kind"].tolist(),
        [t.strftime("%Y-%m-%d %H:%M") for t in late["last_success"]],
        [str(d.round("s")) for d in late["late_by"]],
    ]
    header = ["pipe or job", "kind", "last success", "late by"]
    figure.add_trace(go.Table(header={"values": header}, cells={"values": cells}), row=3, col=2)
    figure.update_layout(
        title=title, height=900, barmode="stack", margin={"l": 50, "r": 20, "t": 80, "b": 40}
    )
    return figure


def _throughput_panels(figure: go.Figure, runs: pd.DataFrame) -> None:
    points = throughput(runs)
    figure.add_trace(
        go.Scatter(x=points["started"], y=points["rows_per_second"], mode="lines+markers", name="rows/s"),
        row=1,
        col=1,
    )
    for column, label in (("latency_p50", "median"), ("latency_p95", "p95")):
        figure.add_trace(
            go.Scatter(x=points["started"], y=points[column], mode="lines+markers", name=f"latency {label}"),
            row=1,
            col=2,
        )


def _failures_panel(figure: go.Figure, runs: pd.DataFrame) -> None:
    failed = failed_runs(runs)
    if failed.empty:
        figure.add_trace(go.Bar(x=[], y=[], name="failed"), row=2, col=2)
        return
    bucket = bucket_for(runs)
    for kind, group in failed.groupby("kind"):
        counts = group.groupby(pd.Grouper(key="started", freq=bucket)).size()
        counts = counts[counts > 0]
        figure.add_trace(go.Bar(x=counts.index, y=counts.to_numpy(), name=f"failed {kind}"), row=2, col=2)
