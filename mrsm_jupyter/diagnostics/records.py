"""What one run leaves behind: a row of ``mrsm_runs`` in the instance.

A run is one ``pipe.sync(...)`` call (however many batches), one ``pipe.verify(...)``, or one
run of a job. Instances store these rows next to their pipe registrations, so anything that
reads the instance (``%mrsm show diagnostics``, Grafana) sees every kernel's and job's runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa

from mrsm_jupyter.pipes.dtypes import arrow_type

RUNS_TABLE = "mrsm_runs"
RunKind = Literal["sync", "verify", "job"]
RUN_KINDS: tuple[RunKind, ...] = ("sync", "verify", "job")
# The table's columns and their canonical dtypes (see pipes/dtypes.py), in order.
RUN_COLUMNS: dict[str, str] = {
    "kind": "str",
    "connector_keys": "str",
    "metric_key": "str",
    "location_key": "str",
    "job": "str",
    "started": "datetime",
    "duration": "float",
    "inserted": "int",
    "updated": "int",
    "unchanged": "int",
    "bytes": "int",
    "success": "bool",
    "error": "str",
    "exit_code": "int",
    "restarts": "int",
}
# What every instance's ``read_runs`` answers: those columns in their Arrow types.
RUNS_SCHEMA = pa.schema([(name, arrow_type(dtype)) for name, dtype in RUN_COLUMNS.items()])
# Longest error text kept: a traceback's last line says what went wrong; the log has the rest.
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class RunRecord:
    """One sync, verify or job run.

    Pipe runs carry the pipe's keys and its row counts; job runs carry the job's name, its
    exit code and how many times it had started before (``restarts``, as Kubernetes counts).
    """

    kind: RunKind
    started: datetime
    duration: float
    connector_keys: str | None = None
    metric_key: str | None = None
    location_key: str | None = None
    job: str | None = None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    bytes: int = 0
    success: bool = True
    error: str | None = None
    exit_code: int | None = None
    restarts: int = 0

    def __post_init__(self) -> None:
        if self.started.tzinfo is None:
            raise ValueError(f"a run's start must be an aware datetime (UTC), not {self.started!r}.")
        if self.error is not None and len(self.error) > MAX_ERROR_CHARS:
            object.__setattr__(self, "error", self.error[: MAX_ERROR_CHARS - 1] + "…")

    def values(self) -> dict[str, Any]:
        """The row, column by column, in :data:`RUN_COLUMNS` order."""
        row = asdict(self)
        return {column: row[column] for column in RUN_COLUMNS}
