"""R2: a hypothesis state machine drives a pipe (append, update, mixed syncs with in-batch
duplicates, identical resyncs, reopen, and syncs killed with SIGKILL at a random moment) and
compares its table with an in-memory oracle after every step, on each instance flavor.

A killed sync may have committed or not: the table must equal the oracle before the batch or
the oracle after it, nothing in between. Per push each flavor runs a few examples; with
``--slow`` (or ``MRSM_TEST_SLOW=1``) 200.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pandas as pd
import pytest
from crash_writer import COLUMNS, T0, WriterServer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.registry import clear_connector_cache

SLOW = bool(os.environ.get("MRSM_TEST_SLOW"))
Key = tuple[int, int]  # (minute, id)
Value = tuple[float | None, str | None]

VALUES = st.none() | st.floats(allow_nan=False, allow_infinity=False)
TEXTS = st.none() | st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=6)
KEYS = st.tuples(st.integers(0, 40), st.integers(0, 3))
ROWS = st.lists(st.tuples(KEYS, VALUES, TEXTS), min_size=1, max_size=8)


def frame(rows: list[tuple[Key, float | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(minutes=k[0]) for k, _, _ in rows],
            "id": [k[1] for k, _, _ in rows],
            "value": pd.array([v for _, v, _ in rows], dtype="Float64"),
            "text": pd.array([t for _, _, t in rows], dtype="string"),
        }
    )


def table_state(pipe: mrsm.Pipe) -> dict[Key, Value]:
    df = pipe.get_data()
    if not len(df):
        return {}
    assert not df.duplicated(["dt", "id"]).any(), "duplicate keys"
    found = {}
    for dt, i, v, t in zip(df["dt"], df["id"], df["value"], df["text"], strict=True):
        minute = int((dt.to_pydatetime() - T0).total_seconds()) // 60
        found[(minute, int(i))] = (None if pd.isna(v) else float(v), None if pd.isna(t) else str(t))
    return found


def apply(oracle: dict[Key, Value], rows: list[tuple[Key, float | None, str | None]]) -> dict[Key, Value]:
    after = dict(oracle)
    for key, value, text in rows:  # the last row of a key wins
        after[key] = (value, text)
    return after


class PipeModel(RuleBasedStateMachine):
    """One pipe per example; ``instance``, ``env`` and ``writers`` are set by the test."""

    instance = ""
    env: ClassVar[dict[str, str]] = {}
    writers: WriterServer | None = None

    def __init__(self) -> None:
        super().__init__()
        self.metric = f"m{uuid.uuid4().hex[:10]}"
        self.oracle: dict[Key, Value] = {}
        self.last: list[tuple[Key, float | None, str | None]] = []
        self.pipe = self._open()

    def _open(self) -> mrsm.Pipe:
        return mrsm.Pipe("crash", self.metric, instance=self.instance, columns=COLUMNS)

    def _sync(self, rows: list[tuple[Key, float | None, str | None]]) -> None:
        self.pipe.sync(frame(rows))
        self.oracle, self.last = apply(self.oracle, rows), rows

    @initialize(rows=ROWS)
    def first(self, rows: list[tuple[Key, float | None, str | None]]) -> None:
        # The first batch fixes the table's types: one float and one string at least.
        self._sync([*rows, ((41, 0), 1.5, "first")])

    @rule(rows=ROWS)
    def sync(self, rows: list[tuple[Key, float | None, str | None]]) -> None:
        self._sync(rows)

    # What is drawn never depends on the state (a killed sync may or may not have committed,
    # and hypothesis needs the same draws to mean the same case): offsets and indices instead.
    @rule(
        rows=st.lists(st.tuples(st.tuples(st.integers(1, 20), st.integers(0, 3)), VALUES, TEXTS), min_size=1)
    )
    def append(self, rows: list[tuple[Key, float | None, str | None]]) -> None:
        newest = max(k[0] for k in self.oracle)
        self._sync([((newest + k[0], k[1]), v, t) for k, v, t in rows[:8]])

    @rule(rows=st.lists(st.tuples(st.integers(0, 10**6), VALUES, TEXTS), min_size=1, max_size=8))
    def update(self, rows: list[tuple[int, float | None, str | None]]) -> None:
        keys = sorted(self.oracle)
        self._sync([(keys[i % len(keys)], v, t) for i, v, t in rows])

    @rule()
    def resync(self) -> None:
        result = self.pipe.sync(frame(self.last))
        assert (result.inserted, result.updated) == (0, 0), result

    @rule()
    def reopen(self) -> None:
        clear_connector_cache()
        self.pipe = self._open()

    @precondition(lambda self: self.writers is not None)
    @rule(rows=ROWS, delay=st.floats(0.0, 0.3))
    def crash(self, rows: list[tuple[Key, float | None, str | None]], delay: float) -> None:
        assert self.writers is not None
        clear_connector_cache()  # let the writer open the file
        records = frame(rows).astype(object).where(frame(rows).notna(), None)
        command = {"cmd": "sync", "instance": self.instance, "metric": self.metric, "env": self.env}
        pid = self.writers.start({**command, "rows": records.to_dict(orient="records")})
        time.sleep(delay)
        errors = [e for e in self.writers.finish(pid, kill=True) if e["event"] == "error"]
        assert not errors, errors
        self.pipe = self._open()
        found, after = table_state(self.pipe), apply(self.oracle, rows)
        assert found in (self.oracle, after), "a killed sync left part of its batch"
        if found == after and found != self.oracle:  # it committed: it is the last batch synced
            self.last = rows
        self.oracle = found

    @invariant()
    def table_equals_oracle(self) -> None:
        assert table_state(self.pipe) == self.oracle


@pytest.fixture(scope="module")
def writers(root_dir: Any) -> Iterator[WriterServer]:
    server = WriterServer({**os.environ})
    yield server
    server.close()


@pytest.mark.parametrize("flavor", ["duckdb", "sqlite", "postgresql", "mariadb", "api"])
def test_pipe_matches_the_oracle(
    flavor: str, instance_uris: dict[str, str], request: pytest.FixtureRequest
) -> None:
    if flavor == "api":
        os.environ["MRSM_API_R2API"] = request.getfixturevalue("api_server")
        PipeModel.instance, PipeModel.env, PipeModel.writers = "api:r2api", {}, None
    else:
        env = {f"MRSM_SQL_R2{flavor.upper()}": instance_uris[flavor]}
        os.environ.update(env)
        PipeModel.instance, PipeModel.env = f"sql:r2{flavor}", env
        PipeModel.writers = request.getfixturevalue("writers")
    random.seed(flavor)
    run = PipeModel.TestCase
    run.settings = settings(
        max_examples=200 if SLOW else 6,
        stateful_step_count=10 if SLOW else 6,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not SLOW,
        database=None,
    )
    run().runTest()
