"""The InfluxDB connector against a real influxd: line protocol escaping, bound InfluxQL values,
measurements as sources (incremental, with backtrack), and what the contract suite does not
cover (emptied fields, clears on fields, unreachable servers). The contract itself runs in
tests/test_contract.py through the ``influxdb`` instance flavor."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.influxdb import runs
from mrsm_jupyter.connectors.influxdb.client import Address
from mrsm_jupyter.connectors.influxdb.connector import InfluxDBConnector
from mrsm_jupyter.connectors.influxdb.runs import RunLog
from mrsm_jupyter.connectors.registry import clear_connector_cache, get_connector
from mrsm_jupyter.diagnostics.records import RUNS_TABLE, RunRecord
from mrsm_jupyter.errors import ConnectorError, PipeError
from mrsm_jupyter.jupyter.server.instances import list_instances
from mrsm_jupyter.pipes.bounds import Window

T0 = datetime(2024, 1, 1, tzinfo=UTC)
NS = 1_000_000_000


@pytest.fixture
def influx(influxdb_url: str) -> str:
    """Keys of an influxdb: connector on a database of this test's own."""
    label = f"t{uuid.uuid4().hex[:8]}"
    os.environ[f"MRSM_INFLUXDB_{label.upper()}"] = f"influxdb://{influxdb_url.split('://')[1]}/db_{label}"
    return f"influxdb:{label}"


def write_points(influxdb_url: str, keys: str, lines: list[str]) -> None:
    """Points written by someone else (not by the connector's own encoder)."""
    database = "db_" + keys.split(":")[1]
    httpx.post(f"{influxdb_url}/query", data={"q": f'CREATE DATABASE "{database}"'}).raise_for_status()
    response = httpx.post(
        f"{influxdb_url}/write", params={"db": database, "precision": "s"}, content="\n".join(lines)
    )
    assert response.status_code == 204, response.text


def test_uris_and_attributes_name_the_server_and_database() -> None:
    assert Address.of("influxdb:a", {"uri": "influxdb://u:p%40ss@h:9999/my%20db"}) == Address(
        "http://h:9999", "my db", "u", "p@ss"
    )
    assert Address.of("influxdb:a", {"uri": "https://h/db"}).base_url == "https://h:8086"
    assert Address.of("influxdb:a", {"host": "h", "database": "d"}).base_url == "http://h:8086"
    with pytest.raises(ConnectorError, match=r"influxdb:a: cannot use the URI .*influxdb://user"):
        Address.of("influxdb:a", {"uri": "influxdb://h:8086"})


def test_awkward_names_and_values_round_trip(influx: str, metric: str) -> None:
    pipe = mrsm.Pipe(
        "src",
        metric,
        instance=influx,
        target=f'{metric} "mesure", été=1',
        columns={"datetime": "when", "id": "station, name=x"},
    )
    texts = ['say "hi"', "back\\slash", "a,b=c d", "line\nbreak", "✓ unicode", "C:\\temp\\x"]
    batch = pd.DataFrame(
        {
            "when": [T0 + timedelta(seconds=i) for i in range(len(texts))],
            "station, name=x": texts,
            'note "q", x=y': texts[::-1],
            "température": [float(i) / 3 for i in range(len(texts))],
        }
    )
    batch.loc[3, "station, name=x"] = "no\\newline"  # tags cannot hold newlines
    assert pipe.sync(batch).inserted == len(texts)
    assert pipe.sync(batch).unchanged == len(texts)
    pd.testing.assert_frame_equal(pipe.get_data(), batch, check_dtype=False)
    assert pipe.get_data(params={"station, name=x": 'say "hi"'})['note "q", x=y'].tolist() == ["C:\\temp\\x"]


def test_hostile_filter_values_are_bound(influx: str, metric: str) -> None:
    pipe = mrsm.Pipe("src", metric, instance=influx, columns={"datetime": "dt", "id": "name"})
    hostile = "x' OR 1=1; DROP MEASUREMENT mrsm_pipes; --"
    pipe.sync(pd.DataFrame({"dt": [T0, T0], "name": [hostile, "ok"], "value": [1.0, 2.0]}))
    assert pipe.get_data(params={"name": hostile})["value"].tolist() == [1.0]
    assert pipe.get_data(params={"value": 2.0})["name"].tolist() == ["ok"]
    assert pipe.clear(params={"name": hostile}).rows == 1
    assert pipe.get_rowcount() == 1 and pipe.is_registered


def test_tags_line_protocol_cannot_carry_are_refused_before_writing(influx: str, metric: str) -> None:
    pipe = mrsm.Pipe("src", metric, instance=influx, columns={"datetime": "dt", "id": "path"})
    with pytest.raises(PipeError, match=r"Pipe\('src'.*backslash at its end"):
        pipe.sync(pd.DataFrame({"dt": [T0, T0], "path": ["ok", "ends with\\"], "v": [1, 2]}))
    assert not pipe.exists()
    comment = mrsm.Pipe("src", metric, instance=influx, target="#not a comment", columns={"datetime": "dt"})
    with pytest.raises(PipeError, match="starts with '#', which marks a comment"):
        comment.sync(pd.DataFrame({"dt": [T0], "v": [1]}))


def test_an_integer_datetime_axis(influx: str, metric: str) -> None:
    pipe = mrsm.Pipe("src", metric, instance=influx, columns={"datetime": "step", "id": "id"})
    pipe.sync(pd.DataFrame({"step": [1, 2, 3, 3], "id": [1, 1, 1, 2], "v": [1.0, 2.0, 3.0, 4.0]}))
    assert pipe.get_columns_types()["step"] == "int"
    assert pipe.get_sync_time() == 3 and pipe.get_sync_time(newest=False) == 1
    assert pipe.get_data(begin=2, end=3)["v"].tolist() == [2.0]
    assert pipe.sync(pd.DataFrame({"step": [3], "id": [2], "v": [5.0]})).updated == 1
    assert pipe.clear(begin=3).rows == 2 and pipe.get_rowcount() == 2


def test_an_emptied_field_is_emptied_and_other_columns_kept(influx: str, metric: str) -> None:
    pipe = mrsm.Pipe("src", metric, instance=influx, columns={"datetime": "dt", "id": "id"})
    pipe.sync(pd.DataFrame({"dt": [T0, T0], "id": [1, 2], "a": [1.0, 2.0], "b": ["x", "y"]}))
    result = pipe.sync(pd.DataFrame({"dt": [T0, T0], "id": [1, 2], "a": [None, 2.0]}))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    df = pipe.get_data()
    assert df["a"].tolist()[1] == 2.0 and pd.isna(df["a"].tolist()[0])
    assert df["b"].tolist() == ["x", "y"]


def test_clearing_on_a_field_deletes_only_the_matching_points(influx: str, metric: str) -> None:
    pipe = mrsm.Pipe("src", metric, instance=influx, columns={"datetime": "dt", "id": "id"})
    pipe.sync(pd.DataFrame({"dt": [T0] * 4, "id": [1, 2, 3, 4], "kind": ["a", "b", "a", "b"]}))
    assert pipe.clear(params={"kind": "a"}).rows == 2
    assert pipe.get_data()["id"].tolist() == [2, 4]
    with pytest.raises(PipeError, match="cannot filter 'kind' on a missing value"):
        pipe.get_data(params={"kind": None})


def test_a_measurement_is_fetched_incrementally_with_backtrack(
    influxdb_url: str, influx: str, metric: str
) -> None:
    epoch = int(T0.timestamp())
    write_points(
        influxdb_url,
        influx,
        [f"cpu,host=h{i % 2},region=eu usage={i}.5,count={i}i {epoch + 60 * (i // 2)}" for i in range(20)],
    )
    pipe = mrsm.Pipe(
        influx,
        metric,
        instance="sql:memory",
        columns={"datetime": "ts", "id": "host"},
        parameters={"fetch": {"measurement": "cpu", "fields": ["usage"], "backtrack_minutes": 2}},
    )
    assert pipe.sync().inserted == 20
    assert pipe.get_columns_types() == {"ts": "datetime", "usage": "float", "host": "str", "region": "str"}
    write_points(influxdb_url, influx, [f"cpu,host=h0,region=eu usage=99,count=1i {epoch + 600}"])
    second = pipe.sync()  # re-reads minutes 7..10
    assert (second.inserted, second.unchanged) == (1, 6)
    assert pipe.get_sync_time() == T0 + timedelta(minutes=10)
    eu_h1 = mrsm.Pipe(
        influx,
        f"{metric}_h1",
        instance="sql:memory",
        columns={"datetime": "ts", "id": "host"},
        parameters={"fetch": {"measurement": "cpu", "tags": ["host"], "where": {"host": "_h0"}}},
    )
    assert eu_h1.sync(begin=T0 + timedelta(minutes=5), end=T0 + timedelta(minutes=8)).inserted == 3
    assert set(eu_h1.get_columns_types()) == {"ts", "host", "usage", "count"}


def test_fetching_names_what_is_missing(influx: str, metric: str) -> None:
    with pytest.raises(PipeError, match=r"has no measurement to fetch from influxdb:.*'measurement': 'cpu'"):
        mrsm.Pipe(influx, metric, instance="sql:memory").sync()
    nowhere = mrsm.Pipe(influx, metric, instance="sql:memory", parameters={"fetch": {"measurement": "nope"}})
    with pytest.raises(PipeError, match="the measurement 'nope' does not exist"):
        nowhere.sync()


def test_an_unreachable_server_names_the_connector(metric: str) -> None:
    os.environ["MRSM_INFLUXDB_GONE"] = "influxdb://127.0.0.1:9/db"
    clear_connector_cache()
    pipe = mrsm.Pipe("src", metric, instance="influxdb:gone", columns={"datetime": "dt"})
    with pytest.raises(
        ConnectorError, match=r"influxdb:gone: cannot reach InfluxDB .*Check that influxd runs"
    ):
        pipe.sync([{"dt": T0, "v": 1}])


@pytest.mark.slow
def test_rates_for_100k_points(influx: str, metric: str) -> None:
    rows = 100_000
    pipe = mrsm.Pipe("src", metric, instance=influx, columns={"datetime": "dt", "id": "id"})
    batch = pd.DataFrame(
        {
            "dt": pd.date_range(T0, periods=rows // 10, freq="s").repeat(10),
            "id": list(range(10)) * (rows // 10),
            "value": [i / 7 for i in range(rows)],
        }
    )
    started = time.perf_counter()
    assert pipe.sync(batch).inserted == rows
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert pipe.sync(batch).unchanged == rows
    again = time.perf_counter() - started
    started = time.perf_counter()
    assert len(pipe.get_data()) == rows
    read = time.perf_counter() - started
    print(
        f"\n100k points: first sync {rows / first:,.0f}/s, unchanged resync {rows / again:,.0f}/s, "
        f"read {rows / read:,.0f}/s"
    )


def test_the_server_lists_influxdb_instances(influx: str) -> None:
    assert {"keys": influx, "flavor": "influxdb"} in [dict(i) for i in list_instances()]


def test_run_records_of_many_writers_never_overwrite_each_other(
    influx: str, metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs of one microsecond from two connectors, each moving to a new ``writer`` tag
    after two points, all stay; the run log is not listed among the measurements."""
    monkeypatch.setattr(runs, "POINTS_PER_WRITER", 2)
    connector = get_connector(influx)
    assert isinstance(connector, InfluxDBConnector)
    logs = [RunLog(connector.client), RunLog(connector.client)]  # as two kernels would
    for n in range(5):
        for log in logs:
            log.record(RunRecord("job", T0, 1.0, job=metric, restarts=n))
    table = connector.read_runs(Window.of(T0, T0 + timedelta(microseconds=1)), ["job"], None)
    assert sorted(table.column("restarts").to_pylist()) == sorted([*range(5)] * 2)
    answer = connector.client.query(f'SHOW TAG VALUES FROM "{RUNS_TABLE}" WITH KEY = "{runs.WRITER}"')
    assert len(answer[0].values) == 6  # ceil(5 / 2) writers per log
    assert RUNS_TABLE not in connector.measurements()
