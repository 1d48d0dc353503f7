"""Every dtype is stored and read back exactly on every instance, or refused with a clear
error and the table left as it was."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.errors import BatchError, InvalidKeysError, SchemaError

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def pipe_for(instance: str, metric: str, **kwargs: object) -> mrsm.Pipe:
    return mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"}, **kwargs)  # type: ignore[arg-type]


def test_special_dtypes_round_trip(instance: str, metric: str) -> None:
    ids = [uuid.UUID(int=1), uuid.UUID(int=2), None]
    docs = {
        "dt": [T0, T0 + timedelta(1), T0 + timedelta(2)],
        "id": [1, 2, 3],
        "doc": [{"a": 1, "b": [1, 2]}, None, {"é": "✓"}],
        "key": ids,
        "amount": [Decimal("1.1000000001"), Decimal("-20.5"), None],
        "raw": [b"\x00\x01", None, b"abc"],
        "day": [date(2024, 1, 1), None, date(1999, 12, 31)],
        "flag": pd.array([True, None, False], dtype="boolean"),
        "text": ["quote ' and \" and ;", None, "x" * 10_000],
    }
    pipe = pipe_for(
        instance,
        metric,
        dtypes={"doc": "json", "key": "uuid", "amount": "numeric", "raw": "bytes", "day": "date"},
    )
    pipe.sync(pd.DataFrame(docs))
    df = pipe.get_data()
    assert df["doc"].tolist() == [{"a": 1, "b": [1, 2]}, None, {"é": "✓"}]
    assert [None if pd.isna(v) else uuid.UUID(str(v)) for v in df["key"]] == ids
    assert [None if pd.isna(v) else Decimal(v) for v in df["amount"]] == [
        Decimal("1.1000000001"),
        Decimal("-20.5"),
        None,
    ]
    assert [None if v is None or (isinstance(v, float) and pd.isna(v)) else bytes(v) for v in df["raw"]] == [
        b"\x00\x01",
        None,
        b"abc",
    ]
    assert [None if pd.isna(v) else pd.Timestamp(v).date() for v in df["day"]] == [
        date(2024, 1, 1),
        None,
        date(1999, 12, 31),
    ]
    assert [None if pd.isna(v) else bool(v) for v in df["flag"]] == [True, None, False]
    assert [None if pd.isna(v) else v for v in df["text"]] == docs["text"]
    types = pipe.get_columns_types()
    assert {types[c] for c in ("doc", "key", "amount", "raw", "day", "flag")} == {
        "json",
        "uuid",
        "numeric",
        "bytes",
        "date",
        "bool",
    }
    # A re-sync of the same values changes nothing: every type compares equal in the database.
    assert pipe.sync(pd.DataFrame(docs)).unchanged == 3


def test_declared_naive_datetimes_stay_naive(instance: str, metric: str) -> None:
    pipe = mrsm.Pipe(
        "test", metric, instance=instance, columns={"datetime": "dt"}, dtypes={"dt": "datetime64[ns]"}
    )
    pipe.sync(pd.DataFrame({"dt": [pd.Timestamp("2024-01-01 12:00")], "v": [1]}))
    assert pipe.get_data()["dt"].tolist() == [pd.Timestamp("2024-01-01 12:00")]


def test_lists_of_dicts_and_frames_get_the_same_types(instance: str, metric: str) -> None:
    rows = [{"dt": T0, "id": 1, "v": 1, "s": "a"}, {"dt": T0 + timedelta(1), "id": 2, "v": None, "s": None}]
    a = pipe_for(instance, metric)
    b = mrsm.Pipe("test", metric, "frame", instance=instance, columns={"datetime": "dt", "id": "id"})
    a.sync(rows)
    b.sync(pd.DataFrame(rows))
    assert a.get_columns_types() == b.get_columns_types()


def test_mixed_value_types_are_refused_and_nothing_is_written(instance: str, metric: str) -> None:
    pipe = pipe_for(instance, metric)
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], "v": [1.0]}))
    with pytest.raises(BatchError, match=r"column 'mixed' mixes value types.*dtypes=\{'mixed': 'str'\}"):
        pipe.sync(pd.DataFrame({"v": [2.0, 3.0], "mixed": [1, "a"]}).assign(dt=[T0, T0], id=[2, 3]))
    assert pipe.get_rowcount() == 1 and "mixed" not in pipe.get_columns_types()


def test_strings_into_a_float_column_widen_it_to_text(instance: str, metric: str) -> None:
    pipe = pipe_for(instance, metric)
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], "v": [1.5]}))
    result = pipe.sync(pd.DataFrame({"dt": [T0 + timedelta(1)], "id": [1], "v": ["n/a"]}))
    assert result.columns_widened == ["v"]
    assert pipe.get_data()["v"].tolist() == ["1.5", "n/a"]


def test_floats_keep_every_digit_when_their_column_widens_to_text(instance: str, metric: str) -> None:
    """17 significant digits where 15 would round (SQLite's own REAL-to-TEXT keeps 15)."""
    exact = [1000000000000001.0, 0.1 + 0.2, 1.5]
    pipe = pipe_for(instance, metric)
    pipe.sync(pd.DataFrame({"dt": [T0 + timedelta(i) for i in range(3)], "id": [1, 1, 1], "v": exact}))
    pipe.sync(pd.DataFrame({"dt": [T0 + timedelta(3)], "id": [1], "v": ["n/a"]}))
    texts = pipe.get_data()["v"].tolist()
    assert [float(t) for t in texts[:3]] == exact, texts
    assert texts[2:] == ["1.5", "n/a"]


def test_unknown_declared_dtype_names_the_choices() -> None:
    with pytest.raises(InvalidKeysError, match="Unknown dtype 'bogus'; use one of int, float"):
        _ = mrsm.Pipe("test", "x", instance="sql:memory", dtypes={"v": "bogus"}).dtypes


def test_duplicate_column_names_are_refused(instance: str, metric: str) -> None:
    df = pd.DataFrame([[T0, 1, 2]], columns=["dt", "id", "id"])
    with pytest.raises(BatchError, match="duplicate column names"):
        pipe_for(instance, metric).sync(df)


def test_static_pipe_refuses_a_wider_type(instance: str, metric: str) -> None:
    pipe = pipe_for(instance, metric, static=True)
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], "v": [1]}))
    with pytest.raises(SchemaError, match="static"):
        pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], "v": [1.5]}))
    assert pipe.get_data()["v"].tolist() == [1]


SQL_FLAVORS = ["duckdb", "sqlite", "postgresql", "mariadb"]


@pytest.fixture(params=SQL_FLAVORS)
def sql_instance(request: pytest.FixtureRequest, instance_uris: dict[str, str]) -> str:
    os.environ[f"MRSM_SQL_DTYPES{request.param.upper()}"] = instance_uris[request.param]
    return f"sql:dtypes{request.param}"


@pytest.mark.parametrize("number", [1, 1.0, True])
def test_numbers_into_a_datetime_column_widen_it_to_text_not_epoch(
    sql_instance: str, metric: str, number: object
) -> None:
    """R4 (hypothesis found it): 1 after a datetime read back as 1970-01-01 (an epoch offset)."""
    india = timezone(timedelta(hours=5, minutes=30))
    pipe = pipe_for(sql_instance, metric)
    pipe.sync(
        pd.DataFrame(
            {"dt": [T0, T0, T0], "id": [0, 0, 1], "value": [pd.NaT, datetime(2000, 1, 1, tzinfo=india), None]}
        )
    )
    assert pipe.get_columns_types()["value"] == "datetime"
    result = pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "value": [number]}))
    assert result.columns_widened == ["value"]
    assert pipe.get_columns_types()["value"] == "str"
    values = pipe.get_data().set_index("id")["value"]
    assert str(values[0]).lower() in ({"true", "1"} if number is True else {"1", "1.0"}), values[0]
    assert pd.isna(values[1])


def test_earlier_instants_keep_their_time_when_a_number_widens_the_column(
    sql_instance: str, metric: str
) -> None:
    pipe = pipe_for(sql_instance, metric)
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "value": [datetime(2000, 1, 1, 12, tzinfo=UTC)]}))
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], "value": [7]}))
    values = pipe.get_data().set_index("id")["value"]
    assert pd.Timestamp(values[0]).tz_localize(None) == pd.Timestamp("2000-01-01 12:00"), values[0]
    assert values[1] == "7"


def test_a_static_datetime_column_refuses_numbers(sql_instance: str, metric: str) -> None:
    pipe = pipe_for(sql_instance, metric, static=True)
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "value": [T0]}))
    with pytest.raises(SchemaError, match="static"):
        pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "value": [1]}))
    assert pipe.get_data()["value"].tolist() == [pd.Timestamp(T0)]
    assert pipe.get_columns_types()["value"] == "datetime"


def test_numbers_are_not_epoch_offsets_for_declared_or_axis_datetimes(sql_instance: str, metric: str) -> None:
    declared = pipe_for(sql_instance, metric, dtypes={"when": "datetime"})
    with pytest.raises(
        SchemaError, match=r"column 'when' holds int values that its datetime column would change"
    ):
        declared.sync(pd.DataFrame({"dt": [T0], "id": [0], "when": [1_700_000_000]}))
    declared.sync(pd.DataFrame({"dt": [T0], "id": [0], "when": [None]}))  # missing values still fit
    assert declared.get_columns_types()["when"] == "datetime"
    pipe = pipe_for(sql_instance, f"{metric}_axis")
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "v": [1]}))
    with pytest.raises(BatchError, match=r"datetime column 'dt' holds int values"):
        pipe.sync(pd.DataFrame({"dt": [5], "id": [0], "v": [2]}))
    assert pipe.get_data()["dt"].tolist() == [pd.Timestamp(T0)]
    assert pipe.get_columns_types()["dt"] == "datetime"


@pytest.mark.parametrize("number", [5, 0.5, -1])
def test_numbers_other_than_0_and_1_widen_a_bool_column_not_turn_true(
    sql_instance: str, metric: str, number: object
) -> None:
    pipe = pipe_for(sql_instance, metric)
    pipe.sync(pd.DataFrame({"dt": [T0], "id": [0], "flag": [False]}))
    result = pipe.sync(pd.DataFrame({"dt": [T0], "id": [1], "flag": [number]}))
    assert result.columns_widened == ["flag"]
    flags = pipe.get_data().set_index("id")["flag"]
    assert str(flags[0]).lower() in ("false", "0") and float(flags[1]) == number, flags.tolist()
    with pytest.raises(SchemaError, match=r"column 'flag' holds .* values that its bool column would change"):
        pipe_for(sql_instance, f"{metric}_d", dtypes={"flag": "bool"}).sync(
            pd.DataFrame({"dt": [T0], "id": [0], "flag": [number]})
        )
    ones = pipe_for(sql_instance, f"{metric}_b")
    ones.sync(pd.DataFrame({"dt": [T0], "id": [0], "flag": [True]}))
    ones.sync(pd.DataFrame({"dt": [T0], "id": [1], "flag": [0]}))  # 0 and 1 are truth values
    assert ones.get_columns_types()["flag"] == "bool"
    assert ones.get_data()["flag"].tolist() == [True, False]
