"""The interface every contender implements, and where it is told to store its pipe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pandas as pd

# Names kept identical across contenders so that instance URIs read the same everywhere.
PIPE_CONNECTOR = "bench"
PIPE_METRIC = "sensors"
DUCKDB_LABEL = "benchduck"
POSTGRESQL_LABEL = "benchpg"


@dataclass(frozen=True)
class Target:
    """Where one run stores its pipe: a fresh DuckDB file or a freshly created database."""

    engine: str
    workdir: Path
    duckdb_path: Path
    pg_database: str
    pg_host: str = "localhost"
    pg_port: int = 5432
    pg_user: str = "postgres"

    def pg_url(self, scheme: str = "postgresql") -> str:
        """A trust-auth URI of the run's database, e.g. ``postgresql+psycopg://...``."""
        return f"{scheme}://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.pg_database}"


class Contender(Protocol):
    """One way of keeping the benchmark's pipe. Every method is timed by the worker."""

    def setup(self, target: Target) -> None:
        """Connect; the pipe does not exist yet. Not timed."""

    def load(self, frame: pd.DataFrame) -> str | None:
        """Initial load of ``frame`` into the empty pipe; may return what the engine reported."""

    def upsert(self, frame: pd.DataFrame) -> str | None:
        """Insert new keys and update changed rows of existing keys."""

    def resync(self, frame: pd.DataFrame) -> str | None:
        """Sync a batch that is already stored unchanged (should write nothing)."""

    def read_all(self) -> pd.DataFrame:
        """The whole pipe as a pandas DataFrame."""

    def read_window(self, begin: datetime, end: datetime, sensor_id: int) -> pd.DataFrame:
        """Rows of one sensor in ``[begin, end)``."""

    def teardown(self) -> None:
        """Drop the pipe and close connections. Not timed."""


@dataclass(frozen=True)
class VerifyReport:
    """What one verify (or re-sync of every chunk) reported, and the bytes it brought over."""

    note: str
    bytes_moved: int | None = None


class VerifyContender(Protocol):
    """Operation 5: a pipe on a DuckDB instance (``sql:benchduck``) synced from the source
    ``sql:benchsrc`` (``bench.verify_source``), whose source then changed 0.1% of past rows."""

    def verify_setup(self, target: Target, definition: str) -> None:
        """Create the pipe with the fetch ``definition`` and sync it from the source. Not timed."""

    def verify(self) -> VerifyReport:
        """Bring the pipe back in line with its source (the contender's own verify)."""

    def restore(self, rows: pd.DataFrame) -> None:
        """Sync ``rows`` (the changed rows' old values) so the pipe differs again. Not timed."""

    def values_of(self, keys: pd.DataFrame) -> float:
        """The sum of ``value`` over the rows with these keys, as the pipe holds it. Not timed."""

    def verify_teardown(self) -> None:
        """Drop the pipe and close connections. Not timed."""


ReadVariant = Callable[[], pd.DataFrame]


def read_variants(contender: Contender) -> dict[str, ReadVariant]:
    """Alternative whole-pipe readers a contender offers (the raw limit tries several)."""
    offered: Callable[[], dict[str, ReadVariant]] | None = getattr(contender, "read_all_variants", None)
    return offered() if offered is not None else {"read_all": contender.read_all}
