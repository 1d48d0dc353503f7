"""The pipe widgets' state (traits), driven as a frontend would, without a browser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.actions.fetchers import register_fetcher
from mrsm_jupyter.jupyter.widgets import PipeTableWidget, PipeWidget
from mrsm_jupyter.jupyter.widgets.chart import ALL_IDS, value_columns
from mrsm_jupyter.jupyter.widgets.paging import Cursor, PageQuery, read_page
from mrsm_jupyter.pipes.bounds import Bound

START = datetime(2024, 1, 1, tzinfo=UTC)
STATIONS = ("east", "north", "south")


def readings(minutes: int) -> list[dict[str, Any]]:
    """Every station reads each minute: rows share datetimes, as pages must handle."""
    return [
        {"dt": START + timedelta(minutes=m), "station": s, "temp": float(m), "note": f"{s}{m}"}
        for m in range(minutes)
        for s in STATIONS
    ]


@pytest.fixture
def pipe(metric: str) -> mrsm.Pipe:
    pipe = mrsm.Pipe("demo", metric, instance="sql:memory", columns={"datetime": "dt", "id": "station"})
    pipe.sync(readings(20))
    return pipe


def all_pages(pipe: mrsm.Pipe, size: int, query: PageQuery) -> list[pd.DataFrame]:
    pages, cursor = [], Cursor()
    while cursor is not None:
        page = read_page(pipe, cursor, size, query)
        assert len(page.frame) <= size
        pages.append(page.frame)
        cursor = page.next
    return pages


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 60, 100])
def test_pages_cover_every_row_once_in_key_order(pipe: mrsm.Pipe, size: int) -> None:
    pages = all_pages(pipe, size, PageQuery())
    expected = pipe.get_data().sort_values(["dt", "station"]).reset_index(drop=True)
    assert pd.concat(pages, ignore_index=True).equals(expected)
    assert len(pages) == -(-60 // size)  # no empty page at the end
    assert all(len(p) == size for p in pages[:-1])


def test_pages_follow_the_window_and_filter(pipe: mrsm.Pipe) -> None:
    query = PageQuery(
        START + timedelta(minutes=5), START + timedelta(minutes=9), {"station": ["east", "south"]}
    )
    rows = pd.concat(all_pages(pipe, 3, query), ignore_index=True)
    assert len(rows) == 8 and set(rows["station"]) == {"east", "south"}
    assert rows["dt"].min() == START + timedelta(minutes=5) and rows["dt"].max() == START + timedelta(
        minutes=8
    )


def test_pipes_without_a_datetime_column_page_by_offset(metric: str) -> None:
    pipe = mrsm.Pipe("demo", metric, instance="sql:memory", columns={"id": "k"})
    pipe.sync({"k": list(range(10)), "v": [float(i) for i in range(10)]})
    pages = all_pages(pipe, 4, PageQuery())
    assert [p["k"].tolist() for p in pages] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_table_widget_shows_facts_and_pages(pipe: mrsm.Pipe) -> None:
    table = PipeTableWidget(pipe, page_size=7)
    facts = dict(table.facts)
    assert facts["rows"] == "60" and facts["instance"] == "sql:memory"
    assert table.sync_time == "2024-01-01T00:19:00+00:00" and facts["newest"] == table.sync_time
    assert {c["name"]: (c["type"], c["role"]) for c in table.columns} == {
        "dt": ("datetime", "datetime"),
        "station": ("str", "id"),
        "temp": ("float", ""),
        "note": ("str", ""),
    }
    assert (table.page_count, table.has_next) == (9, True)
    assert table.page_columns == ["dt", "station", "temp", "note"]
    assert table.page_rows[0] == ["2024-01-01T00:00:00+00:00", "east", "0.0", "east0"]

    table.page = 1  # what the view's "next" button does
    assert table.page_rows[0] == ["2024-01-01T00:02:00+00:00", "north", "2.0", "north2"]
    table.page = 0
    assert table.page_rows[0][3] == "east0"
    table.page = 50  # beyond the end: the last page
    assert (table.page, table.has_next, len(table.page_rows)) == (8, False, 4)
    assert table.page_rows[-1][3] == "south19"
    assert repr(table) == f"PipeTableWidget({pipe!r}, page=8)"
    assert table._repr_mimebundle_()[0]["text/plain"] == repr(table)


def test_table_widget_ships_its_javascript(pipe: mrsm.Pipe) -> None:
    table = PipeTableWidget(pipe)
    # The module the frontend receives is the file shipped in the package.
    assert "export default { render }" in table._esm
    assert "http" not in table._esm and "import " not in table._esm  # nothing from a CDN
    assert ".mrsm-pipe-table" in table._css


def test_table_widget_on_a_pipe_without_a_table(metric: str) -> None:
    table = PipeTableWidget(mrsm.Pipe("demo", metric, instance="sql:memory"))
    assert (table.rowcount, table.sync_time, table.page_rows, table.has_next) == (0, "no rows", [], False)


def batches(pipe: mrsm.Pipe, begin: Bound, end: Bound) -> Iterator[list[dict[str, Any]]]:
    rows = readings(30)
    for start in range(0, len(rows), 30):
        yield rows[start : start + 30]


def test_pipe_widget_selects_syncs_and_clears(pipe: mrsm.Pipe) -> None:
    widget = PipeWidget(pipe, page_size=5)
    assert repr(widget) == f"PipeWidget({pipe!r})"
    assert list(widget.id_selector.options) == [ALL_IDS, *STATIONS]
    assert value_columns(pipe) == ["temp"]
    assert sorted(trace.name for trace in widget.figure.data) == [
        "temp (east)",
        "temp (north)",
        "temp (south)",
    ]

    widget.id_selector.value = "north"
    assert [trace.name for trace in widget.figure.data] == ["temp (north)"]
    assert widget.table.rowcount == 20 and {row[1] for row in widget.table.page_rows} == {"north"}
    widget.begin_picker.value = START + timedelta(minutes=15)
    assert widget.table.rowcount == 5 and len(widget.figure.data[0].x) == 5

    # Clearing asks first, and clears only what is selected.
    widget.clear_button.click()
    assert widget.confirm_button.layout.display == "" and "Delete the rows of" in widget.status.value
    widget.cancel_button.click()
    assert widget.confirm_button.layout.display == "none" and pipe.get_rowcount() == 60
    widget.clear_button.click()
    widget.confirm_button.click()
    assert "cleared (5 rows)" in widget.status.value and pipe.get_rowcount() == 55

    register_fetcher(pipe, batches)
    widget.sync_button.click()
    assert "inserted 35, updated 0, unchanged 55" in widget.status.value
    assert (widget.progress.value, widget.progress.max) == (3, 3)
    assert pipe.get_rowcount() == 90 and not widget.sync_button.disabled


def test_pipe_widget_reports_errors_in_its_status(metric: str) -> None:
    pipe = mrsm.Pipe("demo", metric, instance="sql:memory", columns={"datetime": "dt"})
    widget = PipeWidget(pipe)
    assert widget.figure.data == () and widget.table.rowcount == 0
    widget.sync_button.click()
    assert "has no source to fetch from" in widget.status.value and "#c00" in widget.status.value
