"""The benchmark's deterministic data: sensors reporting every minute (numpy, seed 0).

Row ``i`` of the initial load is sensor ``i % 100`` at ``START + (i // 100)`` minutes, so the
keys ``(dt, id)`` are unique and ordered. The incremental batch holds ``n // 10`` rows: half are
new keys continuing the series, half are existing keys whose values all moved by +1.0.

Only numpy and pandas are imported: the module also runs in the other contenders' venvs, so
every process derives the same frames from the same seed and nothing is sent between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

SEED = 0
SENSORS = 100
DATETIME_COLUMN = "dt"
ID_COLUMN = "id"
VALUE_COLUMNS = ("value", "temperature", "humidity", "pressure")
ALL_COLUMNS = (DATETIME_COLUMN, ID_COLUMN, *VALUE_COLUMNS)
START = np.datetime64("2024-01-01T00:00:00", "us")
WINDOW_SENSOR = 7
VERIFY_SHARE = 0.001


@dataclass(frozen=True)
class Window:
    """A half-open window ``[begin, end)`` of one sensor's readings."""

    begin: datetime
    end: datetime
    sensor_id: int


@dataclass(frozen=True)
class Workload:
    """The frames of one benchmark size."""

    n: int
    initial: pd.DataFrame
    batch: pd.DataFrame
    window: Window


def sensor_frame(first_row: int, rows: int, values: np.ndarray) -> pd.DataFrame:
    """Rows ``first_row .. first_row + rows - 1`` of the series, with the given value matrix."""
    index = np.arange(first_row, first_row + rows, dtype=np.int64)
    columns: dict[str, np.ndarray] = {
        DATETIME_COLUMN: START + (index // SENSORS).astype("timedelta64[m]"),
        ID_COLUMN: index % SENSORS,
    }
    for position, name in enumerate(VALUE_COLUMNS):
        columns[name] = np.ascontiguousarray(values[:, position])
    return pd.DataFrame(columns)


def one_day_window(n: int) -> Window:
    """One day for one sensor, starting at the whole hour nearest the middle of the series."""
    middle_minutes = (n // SENSORS) // 2
    begin = datetime(2024, 1, 1) + timedelta(hours=middle_minutes // 60)
    return Window(begin=begin, end=begin + timedelta(days=1), sensor_id=WINDOW_SENSOR)


def make_workload(n: int) -> Workload:
    """Build the initial frame, the incremental batch and the window for ``n`` rows."""
    rng = np.random.default_rng(SEED)
    initial = sensor_frame(0, n, rng.standard_normal((n, len(VALUE_COLUMNS))))
    batch_rows = n // 10
    new_rows = batch_rows // 2
    changed_positions = np.sort(rng.choice(n, size=batch_rows - new_rows, replace=False))
    changed = initial.iloc[changed_positions].reset_index(drop=True)
    for name in VALUE_COLUMNS:
        changed[name] = changed[name] + 1.0
    fresh = sensor_frame(n, new_rows, rng.standard_normal((new_rows, len(VALUE_COLUMNS))))
    batch = pd.concat([changed, fresh], ignore_index=True)
    return Workload(n=n, initial=initial, batch=batch, window=one_day_window(n))


def changed_past_rows(n: int, share: float = VERIFY_SHARE) -> pd.DataFrame:
    """Operation 5: ``share`` of the initial load's rows, at random places in the past, with
    every value moved by +1.0 at the source (a seed of their own: the same rows whatever else
    the workload draws)."""
    initial = make_workload(n).initial
    rng = np.random.default_rng(SEED + 5)
    positions = np.sort(rng.choice(n, size=max(1, int(n * share)), replace=False))
    changed = initial.iloc[positions].reset_index(drop=True)
    for name in VALUE_COLUMNS:
        changed[name] = changed[name] + 1.0
    return changed


def expected_final(workload: Workload) -> pd.DataFrame:
    """The pipe's content after the load and the upsert: the batch's rows win."""
    keys = [DATETIME_COLUMN, ID_COLUMN]
    merged = pd.concat([workload.initial, workload.batch], ignore_index=True)
    return merged.drop_duplicates(subset=keys, keep="last").reset_index(drop=True)


def window_rows(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The rows of ``frame`` inside ``window``."""
    stamps = frame[DATETIME_COLUMN]
    mask = (
        (frame[ID_COLUMN] == window.sensor_id)
        & (stamps >= pd.Timestamp(window.begin))
        & (stamps < pd.Timestamp(window.end))
    )
    return frame[mask]
