"""R4: hostile batches generated with hypothesis, two per pipe (the second drifts the schema),
on each SQL flavor. Each batch is stored and read back exactly (by the documented rules:
datetimes are UTC instants, naive ones taken as UTC; NaN, None and NaT are missing; in-batch
duplicate keys keep the last row; a column a batch lacks keeps its values in updated rows,
and is missing in new ones), or
refused with one of the engine's errors (``MrsmError``) and the rows left as they were.
"""

from __future__ import annotations

import math
import os
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.registry import get_connector
from mrsm_jupyter.errors import MrsmError

SLOW = bool(os.environ.get("MRSM_TEST_SLOW"))
T0 = datetime(2024, 1, 1, tzinfo=UTC)
NAMES = st.sampled_from(
    ["value", "Value", "v\"'`;--", "caf\u00e9 \u2603", "a b", "x" * 70, "%s", ":p", "$1", "?", "\U0001f600"]
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12) | st.just("\u00e9" * 70_000)
KINDS: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(-(2**62), 2**62),
    "float": st.floats(allow_infinity=True, allow_nan=True),
    "str": TEXT,
    "aware": st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(timezone(timedelta(hours=5, minutes=30))),
    ),
    "naive": st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    "bool": st.booleans(),
    "mixed": st.one_of(st.integers(-5, 5), st.text(max_size=3), st.floats(allow_nan=False)),
}


@st.composite
def batches(draw: st.DrawFn) -> pd.DataFrame:
    columns = draw(st.dictionaries(NAMES, st.sampled_from(list(KINDS)), max_size=3))
    n = draw(st.integers(1, 5))
    data: dict[str, Any] = {
        "dt": [T0 + timedelta(minutes=draw(st.integers(0, 3))) for _ in range(n)],
        "id": [draw(st.integers(0, 1)) for _ in range(n)],
    }
    for name, kind in columns.items():
        data[name] = [draw(st.none() | KINDS[kind]) for _ in range(n)]
    return pd.DataFrame(data)


def _frame(**columns: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"dt": [T0, T0 + timedelta(minutes=1)], "id": [0, 1], **columns})


def _same(a: Any, b: Any) -> bool:
    missing = [x is None or x is pd.NaT or (isinstance(x, float) and math.isnan(x)) for x in (a, b)]
    if any(missing):
        return all(missing)
    if isinstance(a, datetime) or isinstance(b, datetime):
        a, b = (pd.Timestamp(x) for x in (a, b))
        return (a.tz_localize(UTC) if a.tzinfo is None else a) == (
            b.tz_localize(UTC) if b.tzinfo is None else b
        )
    if isinstance(b, str) and isinstance(a, bool | int | float) and not isinstance(a, str):
        # A column widened to text (int -> float -> numeric -> str) keeps earlier values as
        # the database's text of them: 'false' or '0' for False, '0' or '0.0' for 0.0.
        if isinstance(a, bool):
            return b.lower() in (("true", "1") if a else ("false", "0"))
        try:
            return float(b) == float(a)
        except ValueError:
            return False
    if isinstance(a, bool) or isinstance(b, bool):
        # True and 1 are one value; 5 or 0.5 read back as True is not.
        truths = ("true", "false", "1", "0", "1.0", "0.0")
        return bool(a) == bool(b) and all(str(x).lower() in truths for x in (a, b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b) or math.isclose(a, b, rel_tol=1e-15)
    return str(a) == str(b)


def expected(batches_: list[pd.DataFrame]) -> dict[tuple[datetime, int], dict[str, Any]]:
    rows: dict[tuple[datetime, int], dict[str, Any]] = {}
    for frame in batches_:
        for record in frame.to_dict(orient="records"):
            key = (pd.Timestamp(record["dt"]).to_pydatetime(), int(record["id"]))
            rows[key] = {**rows.get(key, {}), **record}  # columns the batch lacks keep their values
    return rows


def stored(pipe: mrsm.Pipe) -> dict[tuple[datetime, int], dict[str, Any]]:
    df = pipe.get_data()
    if not len(df):
        return {}
    assert not df.duplicated(["dt", "id"]).any()
    return {(r["dt"].to_pydatetime(), int(r["id"])): r for r in df.astype(object).to_dict(orient="records")}


def check(pipe: mrsm.Pipe, synced: list[pd.DataFrame]) -> None:
    want, got = expected(synced), stored(pipe)
    assert sorted(want) == sorted(got)
    for key, row in want.items():
        for column, value in row.items():
            assert _same(value, got[key].get(column)), (key, column, value, got[key].get(column))


@pytest.mark.parametrize("flavor", ["duckdb", "sqlite", "postgresql", "mariadb"])
def test_hostile_batches_are_stored_exactly_or_refused(flavor: str, instance_uris: dict[str, str]) -> None:
    os.environ[f"MRSM_SQL_R4{flavor.upper()}"] = instance_uris[flavor]
    instance = f"sql:r4{flavor}"
    transactional_ddl = get_connector(instance).flavor.transactional_ddl  # type: ignore[attr-defined]
    outcomes = {"stored": 0, "refused": 0}

    @settings(
        max_examples=200 if SLOW else 25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not SLOW,
        database=None,
    )
    @given(first=batches(), second=batches())
    @example(first=_frame(value=[1, "a"]), second=_frame(Value=[1.0, 2.0]))
    @example(first=_frame(**{"x" * 70: [1, 2]}), second=_frame(v=[math.nan, math.inf]))
    @example(first=_frame(s=["\u00e9" * 70_000, "a'\"`"]), second=_frame(s=[1, None], t=[None, None]))
    def run(first: pd.DataFrame, second: pd.DataFrame) -> None:
        pipe = mrsm.Pipe(
            "hostile", f"m{uuid.uuid4().hex[:10]}", instance=instance, columns={"datetime": "dt", "id": "id"}
        )
        synced: list[pd.DataFrame] = []
        # A DataFrame's repr elides values: a failure prints every batch in full.
        note(f"first={first.to_dict(orient='list')!r}")
        note(f"second={second.to_dict(orient='list')!r}")
        for frame in (first, second):
            before, columns = stored(pipe), pipe.get_columns_types()
            try:
                pipe.sync(frame.copy())
            except MrsmError as exc:
                outcomes["refused"] += 1
                assert stored(pipe) == before or _equal_rows(stored(pipe), before), exc
                if transactional_ddl:
                    assert pipe.get_columns_types() == columns, exc
                continue
            outcomes["stored"] += 1
            synced.append(frame)
            check(pipe, synced)

    run()
    print(f"R4 {flavor}: {outcomes}")
    assert outcomes["stored"] and outcomes["refused"], outcomes


def _equal_rows(a: dict[Any, dict[str, Any]], b: dict[Any, dict[str, Any]]) -> bool:
    return sorted(a) == sorted(b) and all(all(_same(a[k].get(c), v) for c, v in b[k].items()) for k in b)
