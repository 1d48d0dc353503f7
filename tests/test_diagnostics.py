"""Run records: every sync, verify and job run leaves a row in ``mrsm_runs`` on its instance
(every flavor), and ``show diagnostics`` reads them back as tables and a plotly dashboard."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest
from diagnostics_helpers import recorded_history
from IPython.core.interactiveshell import InteractiveShell
from jobs_helpers import script, wait_until

import mrsm_jupyter as mrsm
from mrsm_jupyter.actions import parse_action, run_action
from mrsm_jupyter.connectors.instance import InstanceConnector
from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.diagnostics.dashboard import PANEL_TITLES
from mrsm_jupyter.diagnostics.records import RUN_COLUMNS, RUNS_SCHEMA, RunRecord
from mrsm_jupyter.diagnostics.runs import behind_schedule, get_runs, throughput
from mrsm_jupyter.errors import BatchError, ConnectorError
from mrsm_jupyter.jupyter.display import PLOTLY_MIME, outcome_bundle
from mrsm_jupyter.pipes.bounds import Window

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SQL_FLAVORS = ["duckdb", "sqlite", "postgresql", "mariadb"]
_US = timedelta(microseconds=1)


def frame(start: int, count: int, value: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"dt": [T0 + timedelta(minutes=start + i) for i in range(count)], "v": [value] * count}
    )


def pipe_runs(instance: str, metric: str) -> pd.DataFrame:
    runs = get_runs(instance=instance)
    return runs[runs["metric_key"] == metric].reset_index(drop=True)


def test_each_sync_records_one_run_with_its_counts(instance: str, metric: str) -> None:
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt"})
    pipe.sync(frame(0, 3))
    changed = pd.concat([frame(0, 1), frame(1, 1, value=2.0), frame(3, 2)])
    pipe.sync(changed)
    runs = pipe_runs(instance, metric)
    assert list(runs["kind"]) == ["sync", "sync"]
    assert list(runs["inserted"]) == [3, 2]
    assert list(runs["updated"]) == [0, 1]
    assert list(runs["unchanged"]) == [0, 1]
    assert runs["success"].all() and runs["error"].isna().all()
    assert (runs["bytes"] > 0).all() and (runs["duration"] > 0).all()
    assert runs["started"].is_monotonic_increasing
    assert str(runs["started"].dt.tz) == "UTC"
    assert set(runs["name"]) == {f"test/{metric}"}
    assert runs["location_key"].isna().all()


@pytest.fixture(params=[*SQL_FLAVORS, "influxdb"])
def recording_instance(
    request: pytest.FixtureRequest, instance_uris: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """An instance of each kind that stores records itself (an api: instance records on its
    server, see the README): SQL of each flavor, and InfluxDB."""
    if request.param == "influxdb":
        monkeypatch.setenv("MRSM_INFLUXDB_DIAG", f"{request.getfixturevalue('influxdb_url')}/mrsm_diag")
        return "influxdb:diag"
    monkeypatch.setenv(f"MRSM_SQL_DIAG{request.param.upper()}", instance_uris[request.param])
    return f"sql:diag{request.param}"


def test_a_failed_sync_records_its_error(recording_instance: str, metric: str) -> None:
    pipe = mrsm.Pipe("test", metric, "loc", instance=recording_instance, columns={"datetime": "dt"})
    pipe.sync(frame(0, 1))
    with pytest.raises(BatchError):
        pipe.sync([{"dt": "not a time", "v": 1}])
    runs = pipe_runs(recording_instance, metric)
    assert list(runs["success"]) == [True, False]
    run = runs.iloc[1]
    assert not run["success"] and run["kind"] == "sync" and run["location_key"] == "loc"
    assert run["error"].startswith("BatchError: ") and "not a time" in run["error"]
    assert (run["inserted"], run["updated"], run["unchanged"]) == (0, 0, 0)


def test_records_round_trip_every_column_and_window(recording_instance: str, metric: str) -> None:
    connector = get_connector(recording_instance)
    job = RunRecord("job", T0, 1.5, job=metric, success=False, error="x" * 5000, exit_code=3, restarts=2)
    sync = RunRecord("sync", T0 + timedelta(hours=1), 0.25, "test", metric, None, inserted=7, bytes=99)
    for run in (job, sync):
        connector.record_run(run)
    table = connector.read_runs(Window.of(T0, T0 + timedelta(hours=2)), None, None)
    assert table.column_names == list(RUN_COLUMNS)
    assert table.schema.field("started").type == pa.timestamp("us", tz="UTC")
    mine = [row for row in table.to_pylist() if metric in (row["job"], row["metric_key"])]
    assert [row["kind"] for row in mine] == ["job", "sync"]
    assert mine[0]["started"] == T0 and mine[0]["exit_code"] == 3 and mine[0]["restarts"] == 2
    assert mine[0]["success"] is False and len(mine[0]["error"]) == 2000
    assert mine[1]["inserted"] == 7 and mine[1]["bytes"] == 99 and mine[1]["success"] is True
    later = connector.read_runs(Window.of(T0 + timedelta(minutes=30), None), ["sync"], None)
    assert metric in later.column("metric_key").to_pylist()
    assert metric not in later.column("job").to_pylist()


def test_runs_starting_together_are_all_kept_and_limit_takes_the_newest(
    recording_instance: str, metric: str
) -> None:
    connector = get_connector(recording_instance)
    # A span of time no other test records in (instances are shared between tests).
    start = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(seconds=int(metric[1:], 16) % 10**8)
    error = 'line "one", a=b\\\nline two \\'
    together = [RunRecord("sync", start, 0.1, "test", metric, str(n), inserted=n) for n in range(3)]
    for run in [*together, RunRecord("verify", start + _US, 0.2, "test", metric, success=False, error=error)]:
        connector.record_run(run)
    window = Window.of(start, start + timedelta(seconds=1))
    table = connector.read_runs(window, None, None)
    assert table.schema == RUNS_SCHEMA
    assert sorted(table.column("location_key").to_pylist()[:3]) == ["0", "1", "2"]
    assert table.column("kind").to_pylist() == ["sync", "sync", "sync", "verify"]
    assert table.column("error").to_pylist()[3] == error
    assert table.column("started").to_pylist() == [start] * 3 + [start + _US]
    newest = connector.read_runs(window, None, 2)
    assert newest.column("kind").to_pylist() == ["sync", "verify"]
    syncs = connector.read_runs(window, ["sync", "job"], 1)
    assert syncs.column("kind").to_pylist() == ["sync"] and syncs.num_rows == 1
    later = Window.of(start + _US, start + timedelta(seconds=1))
    assert connector.read_runs(later, ["sync"], None).num_rows == 0


def test_a_verify_is_one_run_without_runs_for_its_resyncs(metric: str) -> None:
    raw = mrsm.Pipe("test", metric, instance="sql:memory", columns={"datetime": "dt"})
    raw.sync(frame(0, 50))
    definition = f"SELECT * FROM {{{{ Pipe('test', '{metric}') }}}}"
    copy = mrsm.Pipe(
        "sql:memory",
        f"{metric}_copy",
        instance="sql:memory",
        columns={"datetime": "dt"},
        parameters={"fetch": {"definition": definition}},
    )
    copy.sync(begin=T0)
    raw.sync(frame(10, 1, value=-1.0))
    result = copy.verify()
    assert result.updated == 1
    runs = pipe_runs("sql:memory", f"{metric}_copy")
    assert list(runs["kind"]) == ["sync", "verify"]
    assert runs.iloc[1]["updated"] == 1 and runs.iloc[1]["inserted"] == 0


def test_the_sync_action_records_one_run_per_pipe_and_its_fetch_failure(metric: str) -> None:
    pipe = mrsm.Pipe(
        "sql:memory",
        metric,
        instance="sql:memory",
        columns={"datetime": "dt"},
        parameters={"fetch": {"definition": "SELECT * FROM no_such_table"}},
    )
    pipe.register()
    outcome = run_action(parse_action(["sync", "pipes", "-m", metric, "-i", "sql:memory"]))
    assert not outcome.success
    runs = pipe_runs("sql:memory", metric)
    assert len(runs) == 1 and not runs.iloc[0]["success"]
    assert "no_such_table" in runs.iloc[0]["error"]


def test_recording_can_be_turned_off(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MRSM_JUPYTER_RUNS", "off")
    mrsm.Pipe("test", metric, instance="sql:memory", columns={"datetime": "dt"}).sync(frame(0, 2))
    assert pipe_runs("sql:memory", metric).empty


def test_a_failing_record_never_fails_the_sync(
    metric: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MRSM_SQL_BROKENRUNS", f"duckdb:///{tmp_path / 'broken.duckdb'}")
    with get_connector("sql:brokenruns").db.transaction() as s:  # the wrong table where records go
        s.execute("CREATE TABLE mrsm_runs (kind INTEGER)")
    pipe = mrsm.Pipe("test", metric, instance="sql:brokenruns", columns={"datetime": "dt"})
    assert pipe.sync(frame(0, 2)).inserted == 2
    assert "sql:brokenruns: could not record the sync" in caplog.text
    assert "MRSM_JUPYTER_RUNS=off" in caplog.text


def test_a_job_run_is_recorded_with_its_exit_code(
    jobs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job's runner records on sql:local of the job's root: read that file here too.
    monkeypatch.setenv("MRSM_SQL_JOBSROOT", f"duckdb:///{jobs_root / 'local.duckdb'}")
    job = mrsm.Job("exits3", command=script(tmp_path, "exits3", "import sys\nsys.exit(3)\n"))
    job.start()
    job.wait(timeout=20)

    def recorded() -> pd.DataFrame:
        if not (jobs_root / "local.duckdb").exists():
            return pd.DataFrame()
        runs = get_runs(instance="sql:jobsroot", kinds=["job"])
        return runs[runs["job"] == "exits3"]

    wait_until(lambda: len(recorded()) == 1, what="the job's run record")
    runs = recorded()
    run = runs.iloc[0]
    assert not run["success"] and run["exit_code"] == 3 and run["restarts"] == 0
    assert "exited with code 3" in run["error"] and run["duration"] > 0


def test_instances_without_records_say_so() -> None:
    with pytest.raises(ConnectorError, match="bare:x keeps no run records"):
        InstanceConnector.read_runs(SimpleNamespace(keys="bare:x"), Window(), None, None)  # type: ignore[arg-type]


@pytest.fixture
def history(tmp_path: Path, metric: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An instance of its own (connectors are cached by keys) holding ``recorded_history``."""
    monkeypatch.setenv(f"MRSM_SQL_H{metric.upper()}", f"duckdb:///{tmp_path / 'history.duckdb'}")
    recorded_history(f"sql:h{metric}", datetime.now(UTC))
    get_connector(f"sql:h{metric}").close()  # the CLI test opens the file from another process
    return f"sql:h{metric}"


def test_summaries_find_throughput_failures_restarts_and_pipes_behind(history: str) -> None:
    runs = get_runs(instance=history)
    assert len(runs) == 20 + 24 + 2 + 3
    late = behind_schedule(runs)
    assert list(late["name"]) == ["src/late"]
    assert late.iloc[0]["interval"] == pd.Timedelta(hours=1)
    points = throughput(runs)
    assert set(points.columns) >= {"rows_per_second", "latency_p50", "latency_p95"}
    assert points["rows"].sum() == 20 * 100 + 24 * 50
    # The first hour: 'late' moved 100 rows in 0.5 s and 'steady' 50 in 0.2 s.
    assert points["rows_per_second"].iloc[0] == pytest.approx(150 / 0.7)
    assert points["latency_p50"].iloc[0] == pytest.approx(0.35)


def test_show_diagnostics_draws_the_dashboard(history: str) -> None:
    outcome = run_action(parse_action(["show", "diagnostics", "-i", history]))
    text = outcome.to_text()
    assert f"49 run(s) on {history}" in text and "4 failed" in text
    tables = {table.caption: table for table in outcome.tables}
    pipes = {row[0]: row for row in tables["Rows per pipe"].rows}
    assert pipes["src/late"][2] == "2,000" and pipes["src/steady"][6] == "2"
    assert [row[:4] for row in tables["Jobs"].rows] == [("loader", "3", "2", "2")]
    assert [row[0] for row in tables["Behind schedule"].rows] == ["src/late"]
    assert len(tables["Failed runs (newest 10)"].rows) == 4
    figure = outcome.figure
    assert [a.text for a in figure.layout.annotations] == list(PANEL_TITLES)
    by_name = {trace.name: trace for trace in figure.data}
    assert len(by_name["rows/s"].x) > 1 and list(by_name["restarts"].y) == [2]
    assert list(figure.data[-1].cells.values[0]) == ["src/late"]
    bundle = outcome_bundle(outcome)
    assert (
        bundle is not None and bundle[PLOTLY_MIME]["layout"]["title"]["text"] == f"Diagnostics of {history}"
    )
    json.dumps(bundle)


def test_show_diagnostics_filters_by_keys_and_window(history: str) -> None:
    begin = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    outcome = run_action(
        parse_action(["show", "diagnostics", "-i", history, "-m", "steady", "--begin", begin])
    )
    assert [row[0] for row in outcome.tables[0].rows] == ["src/steady"]
    assert outcome.tables[2].rows == ()  # no job runs when keys select pipes


def test_the_cli_prints_the_summary(history: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mrsm_jupyter.cli", "show", "diagnostics", "-i", history],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Behind schedule" in done.stdout and "src/late" in done.stdout and "loader" in done.stdout


def test_the_magic_shows_the_figure_with_the_tables_as_fallback(history: str) -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "mrsm_jupyter")
    try:
        shown = ip.run_line_magic("mrsm", f"show diagnostics -i {history}")
        formats = ip.display_formatter.format(shown)[0]
        figure = formats[PLOTLY_MIME]
        assert len(figure["data"]) >= 8 and figure["layout"]["title"]["text"] == f"Diagnostics of {history}"
        assert "Behind schedule" in formats["text/html"] and "src/late" in formats["text/html"]
    finally:
        ip.run_line_magic("unload_ext", "mrsm_jupyter")
