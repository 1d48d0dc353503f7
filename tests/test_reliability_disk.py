"""R9: a full disk and a read-only instance, on DuckDB and SQLite files in a small tmpfs the
test mounts (as root; skipped, saying why, where mounting is refused).

Batches are synced until the disk is full: the failing sync must raise the engine's error
naming the pipe and saying the disk is full, every acknowledged batch must remain (and no
part of the failed one), and reads must still work. Then the file system is remounted
read-only: reads still work, and a sync says the instance is read-only.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.registry import clear_connector_cache
from mrsm_jupyter.errors import MrsmError

ROWS = 2_000
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        clear_connector_cache()
        subprocess.run(["umount", "-l", str(mount)], check=True)


def batch(b: int) -> pd.DataFrame:
    rng = np.random.default_rng(b)
    return pd.DataFrame(
        {
            "dt": [T0 + timedelta(seconds=b * ROWS + i) for i in range(ROWS)],
            "id": np.arange(ROWS) % 5,
            "batch": b,
            "noise": [rng.bytes(48).hex() for _ in range(ROWS)],  # incompressible
        }
    )


@pytest.mark.parametrize("flavor", ["duckdb", "sqlite"])
def test_a_full_disk_keeps_committed_batches(flavor: str, small_disk: Path) -> None:
    os.environ["MRSM_SQL_R9DISK"] = f"{flavor}:///{small_disk / ('db.' + flavor)}"
    clear_connector_cache()
    pipe = mrsm.Pipe(
        "disk", f"m{uuid.uuid4().hex[:8]}", instance="sql:r9disk", columns={"datetime": "dt", "id": "id"}
    )
    acknowledged = 0
    with pytest.raises(MrsmError) as caught:
        for b in range(200):
            pipe.sync(batch(b))
            acknowledged = b + 1
    message = str(caught.value)
    assert message.startswith(str(pipe)), message
    assert "full" in message.lower() or "space" in message.lower(), message
    assert acknowledged >= 2, "the disk filled before two batches: make it larger"
    df = pipe.get_data()  # reads still work, on the same connector
    assert sorted(df["batch"].unique()) == list(range(acknowledged)), "a half batch or a lost batch"
    assert len(df) == acknowledged * ROWS and not df.duplicated(["dt", "id"]).any()
    clear_connector_cache()  # and after reopening
    assert mrsm.Pipe("disk", pipe.metric_key, instance="sql:r9disk").get_rowcount() == acknowledged * ROWS


@pytest.mark.parametrize("flavor", ["duckdb", "sqlite"])
def test_a_read_only_instance_still_reads(flavor: str, small_disk: Path) -> None:
    os.environ["MRSM_SQL_R9RO"] = f"{flavor}:///{small_disk / ('ro.' + flavor)}"
    clear_connector_cache()
    pipe = mrsm.Pipe("disk", "ro", instance="sql:r9ro", columns={"datetime": "dt", "id": "id"})
    pipe.sync(batch(0).head(100))
    clear_connector_cache()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    pipe = mrsm.Pipe("disk", "ro", instance="sql:r9ro")
    assert pipe.get_rowcount() == 100
    assert len(pipe.get_data(begin=T0 + timedelta(seconds=50))) == 50
    with pytest.raises(MrsmError) as caught:
        pipe.sync(batch(1).head(10))
    message = str(caught.value)
    assert message.startswith(str(pipe)) and "read-only" in message.lower(), message
    assert pipe.get_rowcount() == 100
