"""Run by ``setup.sh`` in Meerschaum's venv: sync and drop a tiny pipe on each instance, so
that Meerschaum installs its runtime packages into ``MRSM_VENVS_DIR`` before any timing."""

from __future__ import annotations

import meerschaum as mrsm  # type: ignore[import-not-found, unused-ignore]

from bench.contenders.base import DUCKDB_LABEL, POSTGRESQL_LABEL
from bench.workload import make_workload


def warm(instance: str) -> None:
    pipe = mrsm.Pipe("warm", "up", instance=instance, columns={"datetime": "dt", "id": "id"})
    frames = make_workload(1_000)
    for frame in (frames.initial, frames.batch):
        success, message = pipe.sync(frame)
        if not success:
            raise RuntimeError(f"warming {instance} failed: {message}")
    pipe.get_data()
    pipe.drop()
    pipe.delete()


if __name__ == "__main__":
    warm(f"sql:{DUCKDB_LABEL}")
    warm(f"sql:{POSTGRESQL_LABEL}")
