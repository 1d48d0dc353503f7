"""A plotly time-series chart of a pipe's value columns, re-queried for an id and a window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from mrsm_jupyter.pipes.pipe import Pipe

ALL_IDS = "(all)"
DEFAULT_MAX_POINTS = 5000
# How many of the newest rows are scanned for the id selector's choices.
ID_SCAN_ROWS = 10_000
_NUMERIC_TYPES = {"int", "float", "numeric"}


@dataclass(frozen=True)
class ChartQuery:
    """What the chart shows: one id (or all) in ``[begin, end)``."""

    id_value: str = ALL_IDS
    begin: Any = None
    end: Any = None


def value_columns(pipe: Pipe) -> list[str]:
    """The declared value column, or else every numeric column that is not a key."""
    declared = pipe.columns.get("value")
    if declared:
        return [declared]
    keys = set(pipe.key_columns)
    return [c for c, t in pipe.get_columns_types().items() if t in _NUMERIC_TYPES and c not in keys]


def id_choices(pipe: Pipe) -> list[str]:
    """Ids seen among the newest rows (the engine has no distinct-values read yet)."""
    id_column = pipe.columns.get("id")
    if not id_column or not pipe.exists():
        return []
    frame = pipe.get_data(select_columns=[id_column], order="desc", limit=ID_SCAN_ROWS)
    return sorted({str(v) for v in frame[id_column].dropna()})


def read_points(pipe: Pipe, query: ChartQuery, max_points: int) -> pd.DataFrame:
    """The newest ``max_points`` rows in the window, oldest first, with only what is plotted."""
    dt = pipe.columns.get("datetime")
    id_column = pipe.columns.get("id")
    values = value_columns(pipe)
    if not dt or not values or not pipe.exists():
        return pd.DataFrame()
    selected = [dt, *([id_column] if id_column else []), *values]
    params = {id_column: query.id_value} if id_column and query.id_value != ALL_IDS else None
    frame = pipe.get_data(
        select_columns=selected,
        begin=query.begin,
        end=query.end,
        params=params,
        order="desc",
        limit=max_points,
    )
    return frame.iloc[::-1].reset_index(drop=True)


def traces(pipe: Pipe, frame: pd.DataFrame) -> list[go.Scatter]:
    """One line per value column and id."""
    dt = pipe.columns.get("datetime")
    id_column = pipe.columns.get("id")
    if frame.empty or dt is None:
        return []
    groups = frame.groupby(id_column, sort=True) if id_column else [("", frame)]
    lines = []
    for id_value, group in groups:
        for column in value_columns(pipe):
            name = f"{column} ({id_value})" if id_column else column
            lines.append(go.Scatter(x=group[dt], y=group[column], mode="lines", name=name))
    return lines


def build_figure(pipe: Pipe) -> go.FigureWidget:
    figure = go.FigureWidget()
    figure.update_layout(
        title=f"{pipe.metric_key}" + (f" ({pipe.location_key})" if pipe.location_key else ""),
        margin={"l": 40, "r": 10, "t": 40, "b": 30},
        height=320,
        xaxis_title=pipe.columns.get("datetime", ""),
    )
    return figure


def redraw(figure: go.FigureWidget, pipe: Pipe, frame: pd.DataFrame) -> None:
    """Replace the figure's lines with those of ``frame`` in one update."""
    with figure.batch_update():
        figure.data = ()
        for line in traces(pipe, frame):
            figure.add_trace(line)
