"""Verify: fingerprints agree across engines, and ``pipe.verify()`` finds changed, inserted and
deleted past rows and re-syncs only the parts that hold them, on every instance flavor."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.actions import parse_action, run_action
from mrsm_jupyter.connectors.registry import make_connector
from mrsm_jupyter.connectors.sql.fingerprint import ArrowFingerprints, leaves_sql, rows_sql, summary_sql
from mrsm_jupyter.connectors.sql.flavors import FLAVORS
from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.fingerprint import FingerprintSpec, Grid
from mrsm_jupyter.pipes.normalize import normalize_batch
from mrsm_jupyter.pipes.verify import VerifyResult, verify_pipe

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden" / "fingerprint"
ROWS = 2000  # 500 minutes of 4 sensors
DTYPES = {"doc": "json", "key": "uuid", "amount": "numeric", "raw": "bytes", "day": "date"}


def every_dtype() -> pd.DataFrame:
    """Values that are easy to render differently: signs, scales, unicode, NULLs, old dates."""
    return pd.DataFrame(
        {
            "dt": [T0, T0 + timedelta(days=1, microseconds=7), datetime(1965, 3, 1, 12, 0, 0, 9, UTC)],
            "id": [1, -9_000_000_000_000_000_000, 3],
            "v": [1.5, -0.000_000_5, None],
            "w": [0.1, 9.87654321e20, -123_456.789_012],
            "s": ["a", "é✓ 'q' ;", ""],
            "flag": pd.array([True, None, False], dtype="boolean"),
            "doc": [{"a": 1, "bb": [1, 2]}, None, {"z": 1, "a": "✓"}],
            "key": [uuid.UUID(int=1), None, uuid.uuid5(uuid.NAMESPACE_DNS, "x")],
            "amount": [Decimal("1.1000000001"), Decimal("-20.5"), None],
            "raw": [b"\x00\x01", None, b""],
            "day": [date(2024, 1, 1), None, date(1960, 12, 31)],
        }
    )


def reference(frame: pd.DataFrame, pipe: mrsm.Pipe) -> ArrowFingerprints:
    """The same rows fingerprinted in this process (in-memory DuckDB over Arrow)."""
    table = normalize_batch(frame, pipe.dtypes, pipe.key_columns, "dt", pipe)
    return ArrowFingerprints(lambda window: table, "dt")


def spec_of(pipe: mrsm.Pipe) -> FingerprintSpec:
    types = pipe.get_columns_types()
    return FingerprintSpec(tuple(sorted(types.items())), "dt", ("id",))


def test_fingerprints_are_the_same_in_every_engine(instance: str, metric: str) -> None:
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"}, dtypes=DTYPES)
    pipe.sync(every_dtype())
    spec, here = spec_of(pipe), reference(every_dtype(), pipe)
    there = pipe.instance_connector.pipe_fingerprints(pipe)
    summary = there.summary(Window(), spec)
    assert summary == here.summary(Window(), spec) and summary.rows == 3
    grid = Grid(origin=summary.low or 0, width=86_400_000_000, buckets=2)
    assert (
        there.leaves(Window(), spec, grid)
        .sort_by("mrsm_leaf")
        .equals(here.leaves(Window(), spec, grid).sort_by("mrsm_leaf"))
    )


def test_one_changed_value_or_one_missing_row_changes_the_fingerprint(instance: str, metric: str) -> None:
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"}, dtypes=DTYPES)
    pipe.sync(every_dtype())
    spec, there = spec_of(pipe), pipe.instance_connector.pipe_fingerprints(pipe)
    stored = there.summary(Window(), spec)
    changed = every_dtype()
    changed.loc[1, "s"] = "é✓ 'q' ,"
    assert not reference(changed, pipe).summary(Window(), spec).matches(stored)
    nudged = every_dtype()
    nudged.loc[0, "v"] = 1.500_001
    assert not reference(nudged, pipe).summary(Window(), spec).matches(stored)
    assert not reference(every_dtype().drop(index=2), pipe).summary(Window(), spec).matches(stored)


def sensors(rows: int = ROWS, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(minutes=i // 4) for i in range(rows)],
            "id": [i % 4 for i in range(rows)],
            "value": [float(i) + shift for i in range(rows)],
        }
    )


def source_and_copy(instance: str, metric: str, **parameters: Any) -> tuple[mrsm.Pipe, mrsm.Pipe]:
    """A raw pipe holding the source rows, and a pipe synced from it by a fetch definition
    (in the instance's own database; an api: instance reads a DuckDB source)."""
    source_keys = instance if instance.startswith("sql:") else "sql:memory"
    raw = mrsm.Pipe("test", metric, instance=source_keys, columns={"datetime": "dt", "id": "id"})
    raw.sync(sensors())
    definition = f"SELECT * FROM {{{{ Pipe('test', '{metric}', instance='{source_keys}') }}}}"
    copy = mrsm.Pipe(
        source_keys,
        f"{metric}_copy",
        instance=instance,
        columns={"datetime": "dt", "id": "id"},
        parameters={"fetch": {"definition": definition}, **parameters},
    )
    assert copy.sync(begin=T0).inserted == ROWS
    return raw, copy


def assert_same_rows(raw: mrsm.Pipe, copy: mrsm.Pipe) -> None:
    pd.testing.assert_frame_equal(raw.get_data(), copy.get_data(), check_dtype=False)


def test_identical_source_moves_nothing(instance: str, metric: str, request: pytest.FixtureRequest) -> None:
    if instance.startswith("influxdb:"):
        reason = "InfluxQL cannot hash rows: an influxdb: instance's rows are read and fingerprinted here"
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    _, copy = source_and_copy(instance, metric)
    result = copy.verify()
    assert isinstance(result, VerifyResult)
    assert (result.chunks, result.chunks_changed, result.parts, result.bytes_moved) == (1, 0, 0, 0)
    success, message = result
    assert success and "verified 1 chunk(s), 0 changed" in message
    assert "<th>bytes moved</th>" in result._repr_html_()


def test_changed_past_rows_are_found_and_only_their_parts_resynced(instance: str, metric: str) -> None:
    raw, copy = source_and_copy(instance, metric)
    changed = sensors().iloc[[3, 901, 1998]].assign(value=lambda df: df["value"] + 0.25)
    raw.sync(changed)
    raw.sync(pd.DataFrame({"dt": [T0 + timedelta(minutes=100, seconds=30)], "id": [9], "value": [1.0]}))
    result = copy.verify(chunk_interval=timedelta(hours=4))  # minutes 0-239 (3 changes), 240-479, 480-499
    assert (result.chunks, result.chunks_changed, result.updated, result.inserted) == (3, 2, 3, 1)
    assert 0 < result.parts <= 4 and result.deleted == 0
    assert result.updated + result.inserted + result.unchanged <= 100  # of 2,001 rows
    assert_same_rows(raw, copy)
    assert copy.verify().chunks_changed == 0


def test_rows_deleted_at_the_source_are_deleted_only_with_deletes_on(instance: str, metric: str) -> None:
    raw, copy = source_and_copy(instance, metric)
    raw.clear(begin=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=12), params={"id": [1, 2]})
    raw.clear(begin=T0 + timedelta(minutes=400), end=T0 + timedelta(minutes=401))
    kept = copy.verify()
    assert (kept.deleted, kept.updated, kept.inserted) == (0, 0, 0) and copy.get_rowcount() == ROWS
    removed = copy.verify(deletes=True)
    assert removed.deleted == 8 and copy.get_rowcount() == ROWS - 8
    assert_same_rows(raw, copy)


@pytest.mark.parametrize("seed", [7, 2024])
def test_changes_inserts_and_deletes_at_random_places_are_all_found(
    instance: str, metric: str, seed: int
) -> None:
    """Updates, inserts and deletions planted at random past places: verify finds every one,
    re-syncs little besides them, and leaves the copy equal to the source."""
    raw, copy = source_and_copy(instance, metric)
    rng = random.Random(seed)
    positions = rng.sample(range(ROWS), 12)
    updated, deleted = positions[:8], positions[8:]
    raw.sync(sensors().iloc[updated].assign(value=lambda df: df["value"] + rng.uniform(0.5, 9.0)))
    minutes = rng.sample(range(500), 3)  # new rows between existing ones, with ids the source lacks
    stamps = [T0 + timedelta(minutes=m, seconds=20) for m in minutes]
    raw.sync(pd.DataFrame({"dt": stamps, "id": 7, "value": 0.5}))
    for position in deleted:
        row = sensors().iloc[position]
        raw.clear(begin=row["dt"], end=row["dt"] + timedelta(seconds=1), params={"id": int(row["id"])})
    result = copy.verify(deletes=True)
    assert (result.updated, result.inserted, result.deleted) == (8, 3, 4), result.message
    assert result.unchanged <= 15 * 32  # of 2,000 rows: only the changed leaves came over
    assert_same_rows(raw, copy)
    again = copy.verify(deletes=True)
    assert (again.chunks_changed, again.updated, again.inserted, again.deleted) == (0, 0, 0, 0)


def test_deletes_can_be_the_pipes_setting(instance: str, metric: str) -> None:
    raw, copy = source_and_copy(instance, metric, verify={"deletes": True})
    raw.clear(begin=T0 + timedelta(minutes=50), end=T0 + timedelta(minutes=51), params={"id": 3})
    assert copy.verify().deleted == 1
    assert_same_rows(raw, copy)


class FrameSource:
    """A plugin-style source: ``fetch(pipe, window)`` answers from a DataFrame."""

    def __init__(self) -> None:
        self.frame = sensors()
        self.fetches = 0

    def fetch(self, pipe: mrsm.Pipe, window: Window) -> pd.DataFrame:
        self.fetches += 1
        stamps = self.frame["dt"]
        return self.frame[(stamps >= window.begin) & (stamps < window.end)]


def test_plugin_sources_are_fingerprinted_here(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = FrameSource()
    make_connector("frames")(lambda label, attrs: source)
    monkeypatch.setenv(f"MRSM_FRAMES_{metric.upper()}", "frames://")
    columns = {"datetime": "dt", "id": "id"}
    copy = mrsm.Pipe(f"frames:{metric}", metric, instance="sql:memory", columns=columns)
    copy.sync(sensors())
    source.frame.loc[[10, 1500], "value"] += 1.0
    source.frame = source.frame.drop(index=[700])
    result = copy.verify(chunk_interval=timedelta(hours=2), deletes=True)
    assert (result.updated, result.deleted, result.chunks) == (2, 1, 5)
    assert source.fetches == 5  # once per chunk: leaves and rows come from the fetched chunk
    assert result.bytes_moved > 0  # the source's chunks did cross into this process
    pd.testing.assert_frame_equal(
        copy.get_data(), normalize_batch(source.frame, {}, [], "dt", copy).to_pandas(), check_dtype=False
    )


def test_a_fetch_function_can_stand_in_for_the_source(metric: str) -> None:
    copy = mrsm.Pipe("demo", metric, instance="sql:memory", columns={"datetime": "dt", "id": "id"})
    copy.sync(sensors())
    newer = sensors(shift=0.5)
    result = verify_pipe(copy, fetch=lambda pipe, begin, end: newer)
    assert result.updated == ROWS
    with pytest.raises(PipeError, match="has no source to verify against"):
        copy.verify()


def test_integer_axes_and_progress_bars(metric: str) -> None:
    rows = pa.table({"step": list(range(300)), "value": [float(i) for i in range(300)]})
    raw = mrsm.Pipe("test", metric, instance="sql:memory", columns={"datetime": "step"})
    raw.sync(rows)
    copy = mrsm.Pipe(
        "sql:memory",
        f"{metric}_copy",
        instance="sql:memory",
        columns={"datetime": "step"},
        parameters={"fetch": {"definition": f"SELECT * FROM {{{{ Pipe('test', '{metric}') }}}}"}},
    )
    copy.sync(begin=0)
    raw.sync(pa.table({"step": [17], "value": [-1.0]}))
    result = copy.verify(chunk_interval=100, progress=True)
    assert (result.chunks, result.updated) == (3, 1)
    assert copy.get_value("value", params={"step": 17}) == -1.0


def test_verify_needs_a_table_and_keys(metric: str) -> None:
    with pytest.raises(PipeError, match="has no table to verify yet"):
        mrsm.Pipe("sql:memory", metric, instance="sql:memory", columns={"datetime": "dt"}).verify(
            begin=T0, end=T0 + timedelta(1)
        )
    keyless = mrsm.Pipe("sql:memory", metric, instance="sql:memory")
    keyless.sync(sensors(8))
    with pytest.raises(PipeError, match="no key columns"):
        keyless.verify()


def test_verify_pipes_action(metric: str) -> None:
    raw, copy = source_and_copy("sql:memory", metric)
    raw.sync(sensors().iloc[[5]].assign(value=-5.0))
    outcome = run_action(parse_action(f"verify pipes -m {metric}_copy -i sql:memory"))
    assert outcome.success and outcome.results[0].updated == 1
    assert "Verify pipes: 1 of 1 pipe(s)" in outcome.message
    assert "chunks" in outcome.to_text()
    assert_same_rows(raw, copy)


@pytest.mark.parametrize("name", sorted({cls.name for cls in FLAVORS.values()}))
def test_fingerprint_sql_matches_the_golden_files(name: str, request: pytest.FixtureRequest) -> None:
    flavor = next(cls for cls in FLAVORS.values() if cls.name == name)()
    columns = (("dt", "datetime"), ("station id", "str"), ("value", "float"))
    spec = FingerprintSpec(columns, "dt", ("station id",))
    grid, table = Grid(origin=1_700_000_000_000_000, width=60_000_000, buckets=4), flavor.table("demo")
    where = " WHERE x = 1"
    text = "\n\n".join(
        [
            summary_sql(flavor, table, where, spec),
            leaves_sql(flavor, table, where, spec, grid),
            rows_sql(flavor, table, where, spec, grid, [3, 7], None),
        ]
    )
    path = GOLDEN / f"{name}.sql"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text + "\n")
    assert path.read_text() == text + "\n"


def test_postgresql_fingerprint_queries_run_without_the_jit(
    instance_uris: dict[str, str], metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JIT compiles a fingerprint scan slower than the interpreter runs it: both sides of a
    verify turn it off for their own transaction, and only there."""
    monkeypatch.setenv("MRSM_SQL_TESTJIT", instance_uris["postgresql"])
    pipe = mrsm.Pipe("sql:testjit", metric, instance="sql:testjit", columns={"datetime": "dt", "id": "id"})
    pipe.parameters["fetch"] = {"definition": "SELECT * FROM generate_series(1, 2) AS dt"}
    pipe.sync(sensors(8))
    connector = pipe.instance_connector
    setting = "SELECT current_setting('jit') AS jit"
    for side in (connector.fetch_fingerprints(pipe), connector.pipe_fingerprints(pipe)):
        assert side._read(setting, {}, {"jit": "str"}).column("jit").to_pylist() == ["off"]
    with connector.db.session() as s:
        default = s.fetchall("SELECT reset_val FROM pg_settings WHERE name = 'jit'")[0][0]
        assert s.fetchall(setting)[0][0] == default
