"""Local DuckDB caches of remote pipes (``Pipe(..., cache=True)``) against a real PostgreSQL
server and a real Jupyter server (``api:``): answers equal the remote's, new rows and past
changes come over, concurrent upstream syncs and two processes sharing one cache stay
consistent, and ``clear_cache()`` removes the files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.pipes.cache import CacheResult, cache_path

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SENSORS = 5
REMOTES = ["postgresql", "api"]


def readings(start: int, minutes: int, shift: float = 0.0) -> pd.DataFrame:
    """``minutes`` minutes of every sensor from minute ``start``, spread over several days."""
    steps = range(start * SENSORS, (start + minutes) * SENSORS)
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(hours=6 * (i // SENSORS)) for i in steps],
            "id": [i % SENSORS for i in steps],
            "value": [float(i) + shift for i in steps],
        }
    )


def pipes(instance: str, metric: str, **given: object) -> tuple[mrsm.Pipe, mrsm.Pipe]:
    """The same remote pipe twice: read through a cache, and read (and written) directly."""
    columns = {"datetime": "dt", "id": "id"}
    cached = mrsm.Pipe("test", metric, instance=instance, columns=columns, cache=True, **given)  # type: ignore[arg-type]
    direct = mrsm.Pipe("test", metric, instance=instance, columns=columns)
    return cached, direct


def assert_same(cached: mrsm.Pipe, direct: mrsm.Pipe, **kwargs: object) -> None:
    got = cached.get_data(**kwargs)  # type: ignore[call-overload]
    want = direct.get_data(**kwargs)  # type: ignore[call-overload]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


@pytest.mark.parametrize("instance", REMOTES, indirect=True)
def test_cache_answers_equal_the_remote_and_follow_it(instance: str, metric: str) -> None:
    cached, direct = pipes(instance, metric)
    direct.sync(readings(0, 40))
    assert cached.local_cache is not None and not cache_path(cached).exists()
    assert_same(cached, direct)
    assert cache_path(cached).exists()
    two_days = {"begin": T0 + timedelta(days=2), "end": T0 + timedelta(days=4)}
    assert_same(cached, direct, **two_days, params={"id": [1, 3]})
    assert_same(cached, direct, select_columns=["dt", "value"], order="desc", limit=7)
    # Nothing new: a refresh moves no rows.
    quiet = cached.refresh_cache()
    assert isinstance(quiet, CacheResult) and (quiet.rows, quiet.bytes_moved) == (0, 0)

    # New rows come by sync time, without a verify.
    direct.sync(readings(40, 8))
    assert_same(cached, direct)

    # Past changes and deletions made elsewhere wait for a verify, which finds exactly them.
    direct.sync(readings(3, 2, shift=0.5))
    direct.clear(begin=T0 + timedelta(hours=6 * 10), end=T0 + timedelta(hours=6 * 11), params={"id": 2})
    stale = cached.get_data()
    assert len(stale) == len(direct.get_data()) + 1
    found = cached.refresh_cache(verify=True)
    assert found.verified and (found.inserted, found.updated, found.deleted) == (0, 2 * SENSORS, 1)
    assert found.bytes_moved < 48 * SENSORS * 24 // 2  # under half the pipe's bytes (24 a row)
    assert_same(cached, direct)


@pytest.mark.parametrize("instance", ["postgresql"], indirect=True)
def test_changes_through_the_cached_pipe_show_at_once(instance: str, metric: str) -> None:
    cached, direct = pipes(instance, metric)
    cached.sync(readings(0, 10))
    assert_same(cached, direct)
    cached.sync(readings(2, 1, shift=0.25))  # an update of past rows: the next read verifies
    cached.clear(begin=T0, end=T0 + timedelta(hours=6), params={"id": 0})
    assert_same(cached, direct)
    assert len(cached.get_data()) == 10 * SENSORS - 1


@pytest.mark.parametrize("instance", ["postgresql"], indirect=True)
def test_check_seconds_spares_the_remote_between_reads(instance: str, metric: str) -> None:
    cached, direct = pipes(instance, metric, parameters={"cache": {"check_seconds": 3600}})
    direct.sync(readings(0, 10))
    assert_same(cached, direct)
    direct.sync(readings(10, 2))  # elsewhere: not looked for within the hour
    assert len(cached.get_data()) == 10 * SENSORS
    cached.sync(readings(12, 1))  # through this pipe: looked for on the next read
    assert_same(cached, direct)
    direct.sync(readings(13, 1))
    assert cached.refresh_cache().inserted == SENSORS  # an explicit refresh always looks
    assert_same(cached, direct)


@pytest.mark.parametrize("instance", ["postgresql"], indirect=True)
def test_cache_stays_consistent_with_concurrent_syncs_upstream(instance: str, metric: str) -> None:
    cached, direct = pipes(instance, metric, parameters={"cache": {"verify_minutes": 0}})
    direct.sync(readings(0, 20))
    errors: list[BaseException] = []

    def writer(first: int) -> None:
        other = mrsm.Pipe("test", metric, instance=instance)
        try:
            for i in range(6):
                other.sync(readings(first + i * 3, 3, shift=first + i))  # new rows and past rows
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(start,)) for start in (5, 12)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        seen = cached.get_data()
        assert not seen.duplicated(["dt", "id"]).any()
    for thread in threads:
        thread.join()
    assert not errors
    assert_same(cached, direct)


SHARED_READER = textwrap.dedent(
    """
    import sys
    import mrsm_jupyter as mrsm
    pipe = mrsm.Pipe("test", sys.argv[1], instance=sys.argv[2], cache=True)
    for _ in range(int(sys.argv[3])):
        df = pipe.get_data()
        assert not df.duplicated(["dt", "id"]).any()
    sys.stdin.readline()  # the test's upstream syncs are over
    pipe.refresh_cache(verify=True)
    df = pipe.get_data()
    print(len(df), float(df["value"].sum()))
    """
)


@pytest.mark.parametrize("instance", ["postgresql"], indirect=True)
def test_two_processes_share_one_cache(instance: str, metric: str, root_dir: Path) -> None:
    cached, direct = pipes(instance, metric)
    direct.sync(readings(0, 20))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "MRSM_DUCKDB_IDLE_SECONDS": "0.05"}
    argv = [sys.executable, "-c", SHARED_READER, metric, instance, "15"]
    pipe = subprocess.PIPE
    readers = [subprocess.Popen(argv, env=env, stdin=pipe, stdout=pipe, stderr=pipe) for _ in range(2)]
    for i in range(5):  # upstream changes while both read
        direct.sync(readings(15 + i * 2, 4, shift=float(i)))
    answers = [proc.communicate(b"\n", timeout=240) for proc in readers]
    for proc, (_, err) in zip(readers, answers, strict=True):
        assert proc.returncode == 0, err.decode()[-3000:]
    want = direct.get_data()
    expected = f"{len(want)} {float(want['value'].sum())}"
    assert [out.decode().strip() for out, _ in answers] == [expected, expected]
    assert cache_path(cached).parent.is_relative_to(root_dir / "cache")
    assert_same(cached, direct)


@pytest.mark.parametrize("instance", ["postgresql"], indirect=True)
def test_clear_cache_removes_it_and_the_next_read_refills(instance: str, metric: str) -> None:
    cached, direct = pipes(instance, metric)
    direct.sync(readings(0, 10))
    assert_same(cached, direct)
    path = cache_path(cached)
    assert path.exists()
    cached.clear_cache()
    assert not path.exists() and not path.with_suffix(".json").exists()
    direct.sync(readings(0, 10, shift=1.0))
    assert_same(cached, direct)  # refilled from the remote, so the changed values too
    other, _ = pipes(instance, metric)  # another Pipe object on the same cache
    assert_same(other, direct)
    cached.clear_cache()
    assert not path.exists()
    assert_same(other, direct)  # its copy of the cache's connector was closed: it opens the new one
    cached.drop()
    assert not path.exists()


def test_local_instances_have_no_cache(metric: str) -> None:
    local = mrsm.Pipe("test", metric, instance="sql:memory", cache=True)
    assert local.local_cache is None
    local.clear_cache()  # nothing to remove
    with pytest.raises(PipeError, match=r"has no local cache.*Pipe\(\.\.\., cache=True\)"):
        local.refresh_cache()
