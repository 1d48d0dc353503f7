"""The main job on the embedded default: ``python -m mrsm_jupyter.demo`` (or ``make demo``).

Registers two demo pipes of generated sensor data, syncs three days of readings into
``sql:local`` (a DuckDB file in the root directory), then syncs a batch that mixes new
readings with corrected old ones, and prints what each sync did.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from mrsm_jupyter.config import root_dir
from mrsm_jupyter.pipes.pipe import Pipe

STATIONS = ("north", "south", "east", "west")
START = datetime(2024, 1, 1, tzinfo=UTC)


def readings(metric: str, begin: datetime, hours: int, seed: int) -> pd.DataFrame:
    """Deterministic readings every 10 minutes for each station."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(begin, periods=hours * 6, freq="10min")
    base = 12.0 if metric == "temperature" else 60.0
    frames = []
    for i, station in enumerate(STATIONS):
        daily = np.sin(np.arange(len(times)) / 144 * 2 * np.pi) * 5
        frames.append(
            pd.DataFrame(
                {
                    "dt": times,
                    "station": station,
                    "value": np.round(base + i + daily + rng.normal(0, 0.5, len(times)), 2),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run(instance: str) -> list[str]:
    lines = [f"Instance {instance} (root directory {root_dir()})"]
    for seed, metric in enumerate(("temperature", "humidity")):
        pipe = Pipe(
            "demo",
            metric,
            "campus",
            instance=instance,
            columns={"datetime": "dt", "id": "station"},
            tags=["demo"],
        )
        pipe.register()
        days = (readings(metric, START + timedelta(days=d), 24, seed * 10 + d) for d in range(3))
        lines.append("initial: " + pipe.sync(days, progress=True).message)
        late = readings(metric, START + timedelta(days=3), 6, seed * 10 + 3)
        last_hour = pipe.get_backtrack_data(backtrack_minutes=60)
        corrected = last_hour.assign(value=last_hour["value"] + 0.1)
        lines.append("incremental: " + pipe.sync(pd.concat([corrected, late])).message)
        lines.append("again: " + pipe.sync(late).message)
        lines.append(f"  {pipe.get_rowcount():,} rows, newest {pipe.get_sync_time()}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-i", "--instance", default="sql:local", help="instance keys (default: sql:local)")
    args = parser.parse_args(argv)
    for line in run(args.instance):
        print(line)


if __name__ == "__main__":
    main()
