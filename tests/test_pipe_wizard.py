"""The pipe wizard (``%mrsm bootstrap pipe``), driven through its widget traits against real
DuckDB, SQLite and InfluxDB sources, through the magic in an in-process IPython shell, and
on the command line (where it explains that it needs a notebook)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import duckdb
import httpx
import pytest
from IPython.core.interactiveshell import InteractiveShell

import mrsm_jupyter as mrsm
from mrsm_jupyter import cli
from mrsm_jupyter.actions.bootstrap import TERMINAL_MESSAGE, PipeDraft
from mrsm_jupyter.jupyter.widgets.pipe_wizard import NEW_CONNECTOR, PipeWizard
from mrsm_jupyter.pipes.preview import preview_fetch

T0 = datetime(2024, 1, 1, tzinfo=UTC)
ROWS = 48  # 24 hours of two stations


def weather_rows() -> list[tuple[datetime, str, float]]:
    return [(T0 + timedelta(hours=i // 2), ("north", "south")[i % 2], float(i)) for i in range(ROWS)]


@pytest.fixture
def duckdb_source(tmp_path: Path) -> str:
    """A DuckDB file with a ``weather`` table, defined as ``sql:<label>``."""
    path = tmp_path / "weather.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE weather (ts TIMESTAMPTZ, station VARCHAR, temp DOUBLE)")
        con.executemany("INSERT INTO weather VALUES (?, ?, ?)", weather_rows())
    label = f"wiz{uuid.uuid4().hex[:8]}"
    os.environ[f"MRSM_SQL_{label.upper()}"] = f"duckdb:///{path}"
    return f"sql:{label}"


def fill(wizard: PipeWizard, source: str, fetch: str, metric: str) -> None:
    wizard.source.value = source
    wizard.fetch.value = fetch
    wizard.preview_button.click()
    wizard.metric.value = metric


def test_nothing_is_registered_until_the_user_confirms(duckdb_source: str, metric: str) -> None:
    wizard = PipeWizard(PipeDraft(instance="sql:memory"))
    fill(wizard, duckdb_source, "SELECT * FROM weather", metric)
    preview = unescape(wizard.preview.value)
    assert "First 10 rows" in preview and preview.count("<tr>") == 11
    assert [label for label, _ in wizard.datetime_column.options[:3]] == [
        "ts (datetime)",
        "station (str)",
        "temp (float)",
    ]
    assert wizard.datetime_column.value == "ts", "the datetime column is picked from the inferred types"
    assert [name for _, name in wizard.id_columns.options] == ["station", "temp"]
    wizard.id_columns.value = ("station",)
    assert f"Pipe(&#x27;{duckdb_source}&#x27;, &#x27;{metric}&#x27;" in wizard.code.value
    pipe = mrsm.Pipe(duckdb_source, metric, instance="sql:memory")

    wizard.register_button.click()
    assert wizard.confirm_button.layout.display == "" and "and run its first sync?" in wizard.status.value
    assert not pipe.is_registered
    wizard.cancel_button.click()
    assert "Nothing was registered." in wizard.status.value and not pipe.is_registered

    wizard.register_button.click()
    wizard.confirm_button.click()
    assert f"Registered. Pipe(&#x27;{duckdb_source}&#x27;" in wizard.status.value
    assert "inserted 48" in wizard.status.value and wizard.progress.value == 1
    assert wizard.pipe == pipe and pipe.is_registered and pipe.get_rowcount() == ROWS
    assert pipe.columns == {"datetime": "ts", "id": "station"}
    assert pipe.parameters["fetch"] == {"definition": "SELECT * FROM weather"}
    assert wizard.register_button.disabled

    again = PipeWizard(PipeDraft(source=duckdb_source, instance="sql:memory"))
    again.fetch.value, again.metric.value = "SELECT * FROM weather", metric
    again.register_button.click()
    again.confirm_button.click()
    assert "is already registered; pick another metric or location" in unescape(again.status.value)


def test_a_connector_defined_in_the_wizard_feeds_a_sqlite_pipe(tmp_path: Path, metric: str) -> None:
    path = tmp_path / "weather.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE weather (ts TEXT, station TEXT, temp REAL)")
        con.executemany(
            "INSERT INTO weather VALUES (?, ?, ?)", [(t.isoformat(), s, v) for t, s, v in weather_rows()]
        )
    wizard = PipeWizard(PipeDraft(instance="sql:memory"))
    wizard.source.value = NEW_CONNECTOR
    assert wizard.new_box.layout.display == ""
    label = f"lite{uuid.uuid4().hex[:6]}"
    wizard.new_type.value, wizard.new_label.value = "sql", label
    wizard.new_uri.value = f"sqlite:///{path}"
    wizard.define_button.click()
    assert wizard.source.value == f"sql:{label}" and wizard.new_box.layout.display == "none"
    assert f"Defined sql:{label} for this kernel" in wizard.status.value
    wizard.fetch.value = "SELECT ts, station, temp FROM weather WHERE station = 'north'"
    wizard.preview_button.click()
    assert wizard.datetime_column.value == "ts", "ISO text (SQLite) is inferred as datetime"
    wizard.metric.value = metric
    wizard.register_button.click()
    wizard.confirm_button.click()
    assert "inserted 24" in wizard.status.value
    assert mrsm.Pipe(f"sql:{label}", metric, instance="sql:memory").get_rowcount() == ROWS // 2

    # The instance now suggests that pipe as a starting point for the next one.
    follow_up = PipeWizard(PipeDraft(instance="sql:memory"))
    follow_up.source.value = "sql:memory"
    picks = dict(follow_up.start_from.options)
    label_of = next(k for k in picks if metric in k)
    follow_up.start_from.value = picks[label_of]
    assert (
        follow_up.fetch.value
        == f"SELECT * FROM {{{{ Pipe('sql:{label}', '{metric}', instance='sql:memory') }}}}"
    )
    follow_up.preview_button.click()
    assert "station (str)" in unescape(follow_up.preview.value)


def test_mistakes_are_said_and_nothing_is_registered(duckdb_source: str, metric: str) -> None:
    wizard = PipeWizard(PipeDraft(source=duckdb_source, instance="sql:memory"))
    assert wizard.start_from.options == (("", ""),), "a source holding no pipes suggests none"
    tables = mrsm.Pipe(
        duckdb_source,
        "tables",
        instance="sql:memory",
        parameters={"fetch": {"definition": "SELECT table_name FROM information_schema.tables"}},
    )
    assert preview_fetch(tables).column("table_name").to_pylist() == ["weather"], "the source is untouched"
    wizard.fetch.value = "SELECT nope FROM nowhere"
    wizard.preview_button.click()
    assert "its fetch definition failed" in unescape(wizard.status.value) and wizard.preview.value == ""
    wizard.register_button.click()
    assert "Name the pipe&#x27;s metric" in wizard.status.value
    wizard.metric.value = metric
    wizard.register_button.click()
    wizard.confirm_button.click()
    assert "its fetch definition failed" in unescape(wizard.status.value)
    assert not mrsm.Pipe(duckdb_source, metric, instance="sql:memory").is_registered, "a failed first sync"
    wizard.source.value = NEW_CONNECTOR
    wizard.new_label.value, wizard.new_uri.value = "memory", "duckdb:///:memory:"
    wizard.define_button.click()
    assert "sql:memory is already defined; pick another label" in wizard.status.value


def test_an_influxdb_measurement_is_offered_and_previewed(influxdb_url: str, metric: str) -> None:
    database = f"wiz_{uuid.uuid4().hex[:8]}"
    httpx.post(f"{influxdb_url}/query", data={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()
    lines = "\n".join(f"cpu,host=h{i % 2} usage={i}.5 {1_704_067_200 + 60 * i}" for i in range(12))
    httpx.post(f"{influxdb_url}/write", params={"db": database, "precision": "s"}, content=lines)
    os.environ[f"MRSM_INFLUXDB_{database.upper()}"] = f"{influxdb_url}/{database}"
    wizard = PipeWizard(PipeDraft(instance="sql:memory"))
    wizard.source.value = f"influxdb:{database}"
    assert dict(wizard.start_from.options)["measurement cpu"] == "cpu"
    wizard.start_from.value = "cpu"
    wizard.preview_button.click()
    assert [label for label, _ in wizard.datetime_column.options[:3]] == [
        "time (datetime)",
        "usage (float)",
        "host (str)",
    ]
    wizard.id_columns.value = ("host",)
    wizard.metric.value = metric
    wizard.register_button.click()
    wizard.confirm_button.click()
    assert "inserted 12" in wizard.status.value


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mrsm_jupyter")
    yield shell
    shell.run_line_magic("unload_ext", "mrsm_jupyter")


def test_the_magic_opens_a_prefilled_wizard(ip: InteractiveShell, duckdb_source: str, metric: str) -> None:
    cell = ip.run_cell(f"%mrsm bootstrap pipe -c {duckdb_source} -m {metric} -i sql:memory")
    assert cell.success
    outcome = cell.result
    assert (
        outcome.action == "bootstrap pipes" and "nothing is registered until you confirm" in outcome.message
    )
    wizard = outcome.widget
    assert isinstance(wizard, PipeWizard)
    assert (wizard.source.value, wizard.metric.value, wizard.instance.value) == (
        duckdb_source,
        metric,
        "sql:memory",
    )
    wizard.fetch.value = "SELECT * FROM weather"
    wizard.preview_button.click()
    wizard.id_columns.value = ("station",)
    wizard.register_button.click()
    wizard.confirm_button.click()
    assert mrsm.Pipe(duckdb_source, metric, instance="sql:memory").get_rowcount() == ROWS
    assert ip.run_cell("%mrsm bootstrap pipes").result.widget is not None


def test_the_terminal_explains_it_needs_a_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bootstrap", "pipe"]) == 0
    assert capsys.readouterr().out.strip() == TERMINAL_MESSAGE


def test_a_kernel_shows_the_wizard_as_a_widget(tmp_path: Path) -> None:
    """In a real kernel the outcome's display is the wizard's widget view (text stays the fallback)."""
    from jupyter_client.manager import start_new_kernel  # noqa: PLC0415 (only this test starts a kernel)

    env = {**os.environ, "MRSM_JUPYTER_ROOT": str(tmp_path)}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        client.execute_interactive("%load_ext mrsm_jupyter", timeout=60)
        shown: list[dict[str, object]] = []

        def keep(message: dict[str, object]) -> None:
            if message["msg_type"] == "execute_result":  # type: ignore[index]
                shown.append(message["content"]["data"])  # type: ignore[index]

        reply = client.execute_interactive("%mrsm bootstrap pipe -i sql:memory", timeout=60, output_hook=keep)
        assert reply["content"]["status"] == "ok"
        assert len(shown) == 1 and "application/vnd.jupyter.widget-view+json" in shown[0]
        assert "nothing is registered until you confirm" in str(shown[0]["text/html"])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
