"""The public API around the contract: connectors from config and environment, keys,
windows, results, and the demo job."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.config import connector_attributes
from mrsm_jupyter.connectors.registry import clear_connector_cache, get_connector
from mrsm_jupyter.demo import run as run_demo
from mrsm_jupyter.errors import BatchError, ConfigError, ConnectorError, InvalidKeysError, PipeError
from mrsm_jupyter.pipes.bounds import Window, backtrack_begin, to_utc
from mrsm_jupyter.pipes.fetch import order_by_dependencies, pipe_references
from mrsm_jupyter.pipes.keys import default_target, split_negation
from mrsm_jupyter.pipes.result import SyncResult


def test_connectors_come_from_environment_and_config_file(root_dir: Path) -> None:
    (root_dir / "config.json").write_text(
        json.dumps({"connectors": {"sql": {"filed": {"uri": "sqlite:///x.db"}}}})
    )
    env = {
        "MRSM_SQL_WAREHOUSE": "postgresql://u:secret@h/db",
        "MRSM_SQL_JSONED": '{"flavor": "duckdb", "database": "/tmp/j.duckdb"}',
        "MRSM_ROOT_DIR": "/ignored",
        "MRSM_TEST_RUN": "x_",
        "PATH": "/bin",
    }
    found = connector_attributes(env)
    assert found["sql:warehouse"] == {"uri": "postgresql://u:secret@h/db"}
    assert found["sql:jsoned"]["flavor"] == "duckdb"
    assert found["sql:filed"] == {"uri": "sqlite:///x.db"}
    assert not any(k.startswith(("root", "test")) for k in found)
    (root_dir / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"config\.json is not valid JSON"):
        connector_attributes(env)
    (root_dir / "config.json").unlink()


def test_unknown_connector_suggests_the_closest() -> None:
    os.environ["MRSM_SQL_WAREHOUSE"] = "duckdb:///:memory:"
    with pytest.raises(ConnectorError, match="Did you mean 'sql:warehouse'"):
        get_connector("sql:warehouse2")
    with pytest.raises(InvalidKeysError, match="must look like 'type:label'"):
        get_connector("nolabel")


def test_connector_from_flavor_attributes(tmp_path: Path) -> None:
    os.environ["MRSM_SQL_ATTRS"] = json.dumps({"flavor": "sqlite", "database": str(tmp_path / "a.db")})
    clear_connector_cache()
    pipe = mrsm.Pipe("t", "attrs", instance="sql:attrs", columns={"datetime": "dt"})
    pipe.sync({"dt": [datetime(2024, 1, 1, tzinfo=UTC)], "v": [1]})
    assert (tmp_path / "a.db").exists() and pipe.get_rowcount() == 1


def test_password_never_shows_in_reprs() -> None:
    os.environ["MRSM_SQL_SECRETIVE"] = "postgresql://user:hunter2@localhost:5432/nowhere"
    connector = get_connector("sql:secretive")
    assert "hunter2" not in repr(connector)


def test_keys_are_validated() -> None:
    with pytest.raises(InvalidKeysError, match="metric_key must not be empty"):
        mrsm.Pipe("a", "")
    with pytest.raises(InvalidKeysError, match="control characters"):
        mrsm.Pipe("a", "x\x00y")
    with pytest.raises(InvalidKeysError, match="must be a string"):
        mrsm.Pipe("a", 5)  # type: ignore[arg-type]
    assert mrsm.Pipe("a", "b", "None").location_key is None
    assert default_target("sql:main", "temp", "home") == "sql_main_temp_home"
    assert split_negation(["a", "_b", "_None"]) == (["a"], ["b", None])


def test_windows_and_bounds() -> None:
    assert to_utc("2024-01-01T01:00:00+01:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert to_utc(date(2024, 1, 2)) == datetime(2024, 1, 2, tzinfo=UTC)
    assert to_utc(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)
    assert [(w.begin, w.end) for w in Window(0, 10).chunks(4)] == [(0, 4), (4, 8), (8, 10)]
    assert len(list(Window.of("2024-01-01", "2024-01-02").chunks(timedelta(hours=6)))) == 4
    assert Window(5, 5).is_empty and not Window(None, 5).is_empty
    assert backtrack_begin(100, 10) == 90 and backtrack_begin(None, 10) is None


def test_integer_datetime_axis(metric: str) -> None:
    pipe = mrsm.Pipe("t", metric, instance="sql:memory", columns={"datetime": "step", "id": "id"})
    pipe.sync({"step": list(range(10)), "id": [1] * 10, "v": [float(i) for i in range(10)]})
    assert pipe.get_sync_time() == 9
    assert pipe.get_rowcount(begin=2, end=5) == 3
    assert [len(c) for c in pipe.get_data(as_iterator=True, chunk_interval=4)] == [4, 4, 2]


def test_reading_a_pipe_without_a_table(metric: str) -> None:
    pipe = mrsm.Pipe("t", metric, instance="sql:memory", dtypes={"v": "float"})
    assert pipe.get_data().columns.tolist() == ["v"]
    assert pipe.get_rowcount() == 0 and pipe.get_sync_time() is None and pipe.get_doc() is None


def test_sync_without_data_says_what_to_do(metric: str) -> None:
    with pytest.raises(PipeError, match=r"has no source to fetch from.*pipe\.sync\(df\)"):
        mrsm.Pipe("t", metric, instance="sql:memory").sync()


def test_a_dict_batch_that_is_no_table_says_so(metric: str) -> None:
    pipe = mrsm.Pipe("t", metric, instance="sql:memory")
    with pytest.raises(BatchError, match=r"cannot read the batch as a table.*same length"):
        pipe.sync({"id": [1, 2], "v": [1.0]})
    with pytest.raises(BatchError, match="scalar values"):
        pipe.sync({"id": 1, "v": 1.0})
    assert not pipe.exists()


def test_column_names_a_table_cannot_have_are_refused(metric: str) -> None:
    """Arrow allows duplicate and empty names: a duplicate kept only its last column, and an
    empty name reached the database as a raw parser error."""
    pipe = mrsm.Pipe("t", metric, instance="sql:memory")
    with pytest.raises(BatchError, match=r"duplicate column names \['x'\]"):
        pipe.sync(pa.table([[1], [2]], names=["x", "x"]))
    for batch in ([{"": 1, "x": 2}], pa.table([[1]], names=[""])):
        with pytest.raises(BatchError, match="a column with an empty name"):
            pipe.sync(batch)
    assert not pipe.exists()


def test_a_batch_of_no_columns_syncs_nothing(metric: str) -> None:
    pipe = mrsm.Pipe("t", metric, instance="sql:memory")
    for empty in ([], [{}], {}, pd.DataFrame()):
        result = pipe.sync(empty)
        assert (result.success, result.rows, result.created_table) == (True, 0, False)
    assert not pipe.exists()


def test_results_unpack_and_render() -> None:
    result = SyncResult("p", inserted=2, updated=1, unchanged=3, created_table=True, columns_added=["a"])
    success, message = result
    assert success and bool(result) and "Created its table" in message and result.rows == 6
    assert "<td>2</td>" in result._repr_html_()
    total = SyncResult("p")
    total.add(result)
    total.add(SyncResult("p", inserted=1, columns_widened=["b"]))
    assert (total.inserted, total.columns_widened) == (3, ["b"])


def test_demo_syncs_new_and_corrected_readings() -> None:
    lines = run_demo("sql:memory")
    assert "inserted 1,728, updated 0" in lines[1]
    assert "inserted 144, updated 28" in lines[2]
    assert "unchanged 144" in lines[3]
    assert mrsm.Pipe("demo", "temperature", "campus", instance="sql:memory").get_rowcount() == 1872
    assert isinstance(
        pd.Timestamp(mrsm.Pipe("demo", "humidity", "campus", instance="sql:memory").get_sync_time()),
        pd.Timestamp,
    )


def test_dependent_pipes_sync_after_their_parents() -> None:
    raw = mrsm.Pipe("sql:src", "raw", instance="sql:memory")
    daily = mrsm.Pipe(
        "sql:src",
        "daily",
        instance="sql:memory",
        parameters={"fetch": {"definition": "SELECT * FROM {{ Pipe('sql:src', 'hourly') }}"}},
    )
    hourly = mrsm.Pipe(
        "sql:src",
        "hourly",
        instance="sql:memory",
        parameters={"fetch": {"definition": "SELECT * FROM {{Pipe('sql:src','raw')}}"}},
    )
    assert order_by_dependencies([daily, hourly, raw]) == [raw, hourly, daily]
    with pytest.raises(InvalidKeysError, match="literal keys"):
        pipe_references("SELECT * FROM {{ Pipe(__import__('os').getcwd()) }}")
