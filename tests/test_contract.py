"""The instance contract, run against every instance flavor (DuckDB file and memory, SQLite,
PostgreSQL, MariaDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.errors import BatchError, PipeError, SchemaError

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def frame(n: int, ids: int = 2, start: int = 0, value: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(minutes=(i + start) // ids) for i in range(n)],
            "id": [(i + start) % ids for i in range(n)],
            "value": [float(i + start) + value for i in range(n)],
        }
    )


def sensor_pipe(instance: str, metric: str, **kwargs: object) -> mrsm.Pipe:
    return mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"}, **kwargs)  # type: ignore[arg-type]


def test_first_sync_creates_table_and_registers(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    assert not pipe.exists()
    result = pipe.sync(frame(10))
    assert (result.inserted, result.updated, result.unchanged) == (10, 0, 0)
    assert pipe.exists() and pipe.is_registered
    assert pipe.get_rowcount() == 10
    assert pipe.get_columns_types() == {"dt": "datetime", "id": "int", "value": "float"}
    success, message = result
    assert success and "inserted 10" in message


def test_identical_resync_changes_nothing(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(20))
    result = pipe.sync(frame(20))
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 20)
    assert pipe.get_rowcount() == 20


def test_changed_rows_are_updated_and_new_rows_inserted(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(10))
    batch = pd.concat([frame(4, value=100.0), frame(6, start=10)])
    result = pipe.sync(batch)
    assert (result.inserted, result.updated, result.unchanged) == (6, 4, 0)
    df = pipe.get_data()
    assert len(df) == 16
    assert df["value"].tolist()[:4] == [100.0, 101.0, 102.0, 103.0]


def test_duplicate_keys_in_one_batch_keep_the_last(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    batch = pd.DataFrame({"dt": [T0, T0, T0], "id": [1, 1, 2], "value": [1.0, 2.0, 3.0]})
    assert pipe.sync(batch).inserted == 2
    assert pipe.get_data(params={"id": 1})["value"].tolist() == [2.0]


def test_new_columns_are_added(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(2))
    result = pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "value": [0.0], "label": ["a"]}))
    assert result.columns_added == ["label"] and result.updated == 1
    assert pipe.get_columns_types()["label"] == "str"
    assert pipe.get_data(params={"id": 0})["label"].tolist() == ["a"]


def test_int_column_widens_to_float_but_whole_floats_stay_int(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], "count": [1]}))
    pipe.sync(pd.DataFrame({"dt": [T0 + timedelta(1)], "id": [1], "count": [2.0]}))
    assert pipe.get_columns_types()["count"] == "int"
    result = pipe.sync(pd.DataFrame({"dt": [T0 + timedelta(2)], "id": [1], "count": [2.5]}))
    assert result.columns_widened == ["count"]
    assert pipe.get_columns_types()["count"] == "float"
    assert pipe.get_data()["count"].tolist() == [1.0, 2.0, 2.5]


def test_static_pipe_refuses_new_columns(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric, static=True)
    pipe.sync(frame(2))
    with pytest.raises(SchemaError, match="static"):
        pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "value": [1.0], "extra": [1]}))
    assert pipe.get_rowcount() == 2


def test_null_ids_are_keys_too(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    batch = pd.DataFrame({"dt": [T0, T0], "id": pd.array([None, 1], dtype="Int64"), "value": [1.0, 2.0]})
    assert pipe.sync(batch).inserted == 2
    again = pd.DataFrame({"dt": [T0], "id": pd.array([None], dtype="Int64"), "value": [5.0]})
    result = pipe.sync(again)
    assert (result.inserted, result.updated) == (0, 1)
    assert pipe.get_rowcount() == 2
    assert pipe.get_data(params={"id": None})["value"].tolist() == [5.0]
    assert pipe.get_data(params={"id": "_None"})["value"].tolist() == [2.0]


def test_aware_and_naive_datetimes_are_utc(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    naive = pd.DataFrame({"dt": [pd.Timestamp("2024-01-01 12:00")], "id": [1], "value": [1.0]})
    pipe.sync(naive)
    aware = pd.DataFrame(
        {"dt": [pd.Timestamp("2024-01-01 13:00", tz="Europe/Paris")], "id": [1], "value": [2.0]}
    )
    result = pipe.sync(aware)  # 13:00 in Paris is 12:00 UTC: the same key
    assert (result.inserted, result.updated) == (0, 1)
    df = pipe.get_data()
    assert df["dt"].tolist() == [pd.Timestamp("2024-01-01 12:00", tz="UTC")]
    assert pipe.get_sync_time() == datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_mixed_offsets_in_one_column(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    docs = [
        {"dt": datetime(2024, 1, 1, 12, tzinfo=UTC), "id": 1, "value": 1.0},
        {"dt": pd.Timestamp("2024-01-01 14:00", tz="Europe/Paris").to_pydatetime(), "id": 2, "value": 2.0},
    ]
    pipe.sync(docs)
    assert pipe.get_data()["dt"].tolist() == [
        pd.Timestamp("2024-01-01 12:00", tz="UTC"),
        pd.Timestamp("2024-01-01 13:00", tz="UTC"),
    ]


def test_generators_sync_chunk_by_chunk(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    result = pipe.sync(frame(5, start=i * 5) for i in range(4))
    assert result.batches == 4 and result.inserted == 20
    assert pipe.get_rowcount() == 20


def test_other_input_types(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    docs = [{"dt": T0, "id": 1, "value": 1.5}]
    pipe.sync(docs)
    pipe.sync({"dt": [T0 + timedelta(1)], "id": [2], "value": [2.5]})
    pipe.sync(pa.table({"dt": [T0 + timedelta(2)], "id": [3], "value": [3.5]}))
    pipe.sync(pl.DataFrame({"dt": [T0 + timedelta(3)], "id": [4], "value": [4.5]}))
    assert pipe.get_data()["value"].tolist() == [1.5, 2.5, 3.5, 4.5]
    assert pipe.get_columns_types() == {"dt": "datetime", "id": "int", "value": "float"}


def test_windows_are_half_open_and_params_follow_the_grammar(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(30, ids=3))  # minutes 0..9, ids 0,1,2
    window = pipe.get_data(begin=T0 + timedelta(minutes=2), end=T0 + timedelta(minutes=5))
    assert sorted(set(window["dt"])) == [pd.Timestamp(T0 + timedelta(minutes=m)) for m in (2, 3, 4)]
    assert pipe.get_rowcount(begin=T0 + timedelta(minutes=2), end=T0 + timedelta(minutes=5)) == 9
    assert set(pipe.get_data(params={"id": [0, 2]})["id"]) == {0, 2}
    assert set(pipe.get_data(params={"id": "_1"})["id"]) == {0, 2}
    assert set(pipe.get_data(params={"id": ["_0", "_1"]})["id"]) == {2}
    assert len(pipe.get_data(params={"id": 1}, limit=4, order="desc")) == 4
    assert pipe.get_data(order="desc", limit=1)["dt"].tolist() == [pd.Timestamp(T0 + timedelta(minutes=9))]


def test_params_values_are_bound_never_pasted(instance: str, metric: str) -> None:
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "name"})
    hostile = "x'); DROP TABLE mrsm_pipes; --"
    pipe.sync(pd.DataFrame({"dt": [T0, T0], "name": [hostile, "ok"], "value": [1.0, 2.0]}))
    assert pipe.get_data(params={"name": hostile})["value"].tolist() == [1.0]
    assert pipe.is_registered


def test_quotes_in_column_names_stay_one_column(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    weird = 'v" TEXT, "injected'
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], weird: [1.0]}))
    assert pipe.get_columns_types() == {"dt": "datetime", "id": "int", weird: "float"}


def test_unknown_filter_column_names_the_pipe(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(2))
    with pytest.raises(PipeError, match=r"Pipe\('test', .*no column 'nope'"):
        pipe.get_data(params={"nope": 1})


def test_missing_datetime_values_are_refused(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    batch = pd.DataFrame({"dt": [T0, pd.NaT], "id": [1, 2], "value": [1.0, 2.0]})
    with pytest.raises(BatchError, match="1 rows have no value in the datetime column 'dt'"):
        pipe.sync(batch)
    assert not pipe.exists()


def test_clear_drop_delete(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(10))
    cleared = pipe.clear(begin=T0 + timedelta(minutes=2))
    assert cleared.rows == 6 and pipe.get_rowcount() == 4
    assert pipe.clear(params={"id": 0}).rows == 2
    pipe.drop()
    assert not pipe.exists() and pipe.is_registered
    pipe.sync(frame(2))
    pipe.delete()
    assert not pipe.exists() and not pipe.is_registered


def test_deduplicate(instance: str, metric: str) -> None:
    keyless = mrsm.Pipe("test", metric, instance=instance)
    keyless.sync(frame(4))
    keyless.sync(frame(4))  # no keys: rows are appended
    assert keyless.get_rowcount() == 8
    keyless.columns = {"datetime": "dt", "id": "id"}
    keyless.edit()
    assert keyless.deduplicate().rows == 4
    assert keyless.get_rowcount() == 4


def test_upsert_pipes_update_every_matched_row(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric, upsert=True)
    pipe.sync(frame(4))
    result = pipe.sync(frame(4))
    assert result.inserted == 0 and result.updated + result.unchanged == 4
    assert pipe.get_rowcount() == 4


def test_docs_values_and_backtrack(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(10))
    assert pipe.get_doc(params={"id": 1})["value"] == 1.0
    assert pipe.get_value("value") == 9.0
    assert len(pipe.get_docs(params={"id": 0})) == 5
    back = pipe.get_backtrack_data(backtrack_minutes=2)
    assert sorted(set(back["dt"])) == [pd.Timestamp(T0 + timedelta(minutes=m)) for m in (2, 3, 4)]
    assert pipe.get_sync_time(newest=False) == T0


def test_get_data_in_chunks(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(20))
    chunks = list(pipe.get_data(as_iterator=True, chunk_interval=timedelta(minutes=3)))
    assert [len(c) for c in chunks] == [6, 6, 6, 2]


def test_register_edit_and_get_pipes(instance: str, metric: str) -> None:
    a = mrsm.Pipe("test", metric, "a", instance=instance, tags=["x"])
    b = mrsm.Pipe("test", metric, instance=instance, tags=["y"])
    a.register()
    b.register()
    assert set(mrsm.get_pipes(metric_keys=metric, instance=instance, as_list=True)) == {a, b}
    assert mrsm.get_pipes(metric_keys=metric, location_keys="_a", instance=instance, as_list=True) == [b]
    assert mrsm.get_pipes(metric_keys=metric, location_keys=[None], instance=instance, as_list=True) == [b]
    assert mrsm.get_pipes(metric_keys=metric, tags=["x"], instance=instance, as_list=True) == [a]
    nested = mrsm.get_pipes(metric_keys=metric, instance=instance)
    assert nested["test"][metric]["a"] == a
    a.parameters["fetch"] = {"backtrack_minutes": 5}
    a.edit()
    assert mrsm.Pipe("test", metric, "a", instance=instance).backtrack_minutes == 5


def test_copy_to_another_instance(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(12))
    result = pipe.copy_to("sql:memory")
    assert result.inserted == 12
    copied = mrsm.Pipe("test", metric, instance="sql:memory")
    assert copied.columns == {"datetime": "dt", "id": "id"}
    pd.testing.assert_frame_equal(copied.get_data(), pipe.get_data())


def test_sql_source_pipes_fetch_their_definition_incrementally(instance: str, metric: str) -> None:
    raw = sensor_pipe(instance, metric)
    raw.sync(frame(20, ids=2))  # minutes 0..9
    label = instance.split(":", 1)[1]
    derived = mrsm.Pipe(
        instance,
        f"{metric}_hourly",
        instance=instance,
        columns={"datetime": "dt", "id": "id"},
        parameters={
            "fetch": {
                "definition": "SELECT dt, id, value * 2 AS doubled FROM "
                f"{{{{ Pipe('test', '{metric}', instance='sql:{label}') }}}}",
                "backtrack_minutes": 2,
            }
        },
    )
    first = derived.sync()
    assert first.inserted == 20
    raw.sync(frame(4, ids=2, start=20))  # minutes 10..11
    second = derived.sync()  # backtrack of 2 minutes: re-reads minutes 7..11
    assert (second.inserted, second.unchanged) == (4, 6)
    assert derived.get_data()["doubled"].tolist()[-1] == 46.0


def test_fetching_without_a_source_says_what_to_do(instance: str, metric: str) -> None:
    with pytest.raises(PipeError, match=r"has no source to fetch from.*pipe\.sync\(df\)"):
        sensor_pipe(instance, metric).sync()
    bad = mrsm.Pipe(
        instance,
        metric,
        instance=instance,
        columns={"datetime": "dt"},
        parameters={"fetch": {"definition": "SELECT nope FROM nowhere"}},
    )
    with pytest.raises(PipeError, match="its fetch definition failed"):
        bad.sync()


def test_percent_signs_and_colons_in_names(instance: str, metric: str) -> None:
    pipe = mrsm.Pipe("test", f"{metric}%:x", instance=instance, columns={"datetime": "d%t", "id": "i:d"})
    batch = pd.DataFrame({"d%t": [T0, T0], "i:d": [1, 2], "%s 100%": [1.0, 2.0], ":value": ["a", "b"]})
    assert pipe.sync(batch).inserted == 2
    assert pipe.sync(batch.assign(**{"%s 100%": [1.0, 3.0]})).updated == 1
    df = pipe.get_data(params={"i:d": 2, ":value": "b"})
    assert df["%s 100%"].tolist() == [3.0]


def test_distinct_values(instance: str, metric: str) -> None:
    pipe = sensor_pipe(instance, metric)
    pipe.sync(frame(12, ids=3))
    assert pipe.get_distinct("id") == [0, 1, 2]
    assert pipe.get_distinct("id", params={"id": "_1"}, limit=1) == [0]
    assert pipe.get_distinct("id", begin=T0 + timedelta(minutes=3)) == [0, 1, 2]
