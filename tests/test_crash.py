"""A writer killed with SIGKILL mid-sync leaves only whole batches behind (embedded
instances, where the writer is the database), and the next sync carries on."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mrsm_jupyter as mrsm
from mrsm_jupyter.connectors.registry import clear_connector_cache

BATCH = 20_000
WRITER = """
import sys
from datetime import UTC, datetime, timedelta
import numpy as np, pandas as pd
import mrsm_jupyter as mrsm
pipe = mrsm.Pipe("crash", sys.argv[1], instance=sys.argv[2], columns={"datetime": "dt", "id": "id"})
start = pipe.get_rowcount()
for b in range(start // {batch}, 1000):
    n = np.arange(b * {batch}, (b + 1) * {batch})
    pipe.sync(pd.DataFrame({"dt": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(n // 10, unit="s"),
                            "id": n % 10, "value": n * 1.0}))
    print(b, flush=True)
""".replace("{batch}", str(BATCH))


@pytest.mark.parametrize("flavor", ["duckdb", "sqlite"])
def test_sigkill_leaves_whole_batches(
    flavor: str, instance_uris: dict[str, str], metric: str, tmp_path: Path
) -> None:
    os.environ[f"MRSM_SQL_CRASH{flavor.upper()}"] = instance_uris[flavor]
    instance = f"sql:crash{flavor}"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(0)
    for _ in range(3):
        clear_connector_cache()
        writer = subprocess.Popen(
            [sys.executable, str(script), metric, instance], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip().isdigit()  # a batch was committed this round
        time.sleep(rng.uniform(0.0, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        pipe = mrsm.Pipe("crash", metric, instance=instance)
        df = pipe.get_data()
        assert len(df) % BATCH == 0, f"a half batch survived: {len(df)} rows"
        assert not df.duplicated(["dt", "id"]).any()
        assert pipe.get_sync_time() == df["dt"].max()
    clear_connector_cache()
