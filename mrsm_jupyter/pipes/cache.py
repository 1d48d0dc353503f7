"""Local DuckDB caches of pipes on remote instances: ``Pipe(..., cache=True)``.

The cache of a pipe is a DuckDB file under ``<root>/cache/`` holding a copy of the pipe (an
instance of its own, with the pipe's parameters). Before ``get_data`` answers from it, it
is brought up to date from the remote instance:

1. new rows by sync time: the remote's rows from the cache's newest sync time on (on every
   read, or at most every ``parameters['cache']['check_seconds']`` when set: the check
   costs the remote a query, as much as a small read);
2. past changes by verify fingerprints (``pipes/verify.py`` with the remote instance's copy
   as the source, deletes on): at most every ``parameters['cache']['verify_minutes']``
   (default 60; 0 verifies on every read), and on the next read after this process
   changed the remote's past rows (a sync that updated rows, a clear).

An empty cache is filled chunk by chunk (``verify.chunk_minutes``).

Two kernels or processes may share a cache: the DuckDB file is held by one process at a
time (``DuckDBDatabase``'s file lock), and a refresh holds it from start to end, so a reader
elsewhere waits and then reads the refreshed state, never half of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from mrsm_jupyter.config import root_dir
from mrsm_jupyter.pipes.bounds import Bound, Window, step
from mrsm_jupyter.pipes.result import SyncResult
from mrsm_jupyter.pipes.verify import VerifySettings, verify_pipe, verify_windows

if TYPE_CHECKING:
    import pyarrow as pa

    from mrsm_jupyter.connectors.instance import InstanceConnector
    from mrsm_jupyter.connectors.sql.connector import SQLConnector
    from mrsm_jupyter.pipes.pipe import Pipe

DEFAULT_VERIFY_MINUTES = 60
# One connector per cache file in a process: its DuckDB connection and lock are shared.
_CONNECTORS: dict[Path, SQLConnector] = {}
_CONNECTORS_GUARD = threading.Lock()


def is_remote(instance: InstanceConnector) -> bool:
    """Whether an instance is worth caching: ``api:`` or a database server (not a local file)."""
    if instance.type == "api":
        return True
    flavor = getattr(instance, "flavor", None)
    return instance.type == "sql" and flavor is not None and not flavor.embedded


@dataclass
class CacheResult(SyncResult):
    """What a refresh brought into the cache: new rows, and what a verify found."""

    verified: bool = False
    deleted: int = 0
    bytes_moved: int = 0

    @property
    def message(self) -> str:
        checked = "verified past rows" if self.verified else "past rows not verified this time"
        return (
            f"{self.pipe}: cache refreshed ({checked}): inserted {self.inserted:,}, updated "
            f"{self.updated:,}, deleted {self.deleted:,} rows; moved {self.bytes_moved:,} bytes "
            f"in {self.duration:.3f} s."
        )


def cache_path(pipe: Pipe) -> Path:
    """``<root>/cache/<instance>/<target>_<hash>.duckdb``: readable, and unique per pipe."""
    digest = hashlib.sha256(repr(pipe.keys).encode()).hexdigest()[:12]
    instance = re.sub(r"[^A-Za-z0-9_.-]", "_", pipe.instance_keys)
    target = re.sub(r"[^A-Za-z0-9_.-]", "_", pipe.target)[:80]
    return root_dir() / "cache" / instance / f"{target}_{digest}.duckdb"


class PipeCache:
    """The local copy of one remote pipe."""

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe
        self.path = cache_path(pipe)
        self._local: Pipe | None = None
        self._checked_at: float | None = None

    @property
    def connector(self) -> SQLConnector:
        from mrsm_jupyter.connectors.sql.connector import SQLConnector  # noqa: PLC0415 (sqlalchemy)

        with _CONNECTORS_GUARD:
            found = _CONNECTORS.get(self.path)
            if found is None:
                label = "cache_" + hashlib.sha256(str(self.path).encode()).hexdigest()[:12]
                found = _CONNECTORS[self.path] = SQLConnector(label, f"duckdb:///{self.path}")
            return found

    @property
    def local_pipe(self) -> Pipe:
        """The pipe as stored in the cache (same keys and parameters, the cache as instance)."""
        # Built again after a clear() anywhere in this process closed the old connector.
        if self._local is None or self._local.instance_connector is not self.connector:
            pipe = self.pipe
            self._local = type(pipe)(
                pipe.connector_keys,
                pipe.metric_key,
                pipe.location_key,
                instance=self.connector,
                parameters=pipe.parameters,
            )
        return self._local

    # State kept beside the file: when past rows were last verified.
    @property
    def _state_path(self) -> Path:
        return self.path.with_suffix(".json")

    def _verified_at(self) -> float:
        try:
            return float(json.loads(self._state_path.read_text())["verified_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    def _save_verified_at(self, when: float) -> None:
        temp = self._state_path.with_suffix(".json.tmp")
        temp.write_text(json.dumps({"verified_at": when}))
        temp.replace(self._state_path)

    def invalidate(self, past: bool) -> None:
        """This process changed the remote: look for new rows on the next read, and verify
        past rows too when ``past``."""
        self._checked_at = None
        if past and self.path.exists():
            self._save_verified_at(0.0)

    def _checked_lately(self) -> bool:
        """Whether this process looked for new rows less than ``check_seconds`` ago."""
        settings = self.pipe.parameters.get("cache") or {}
        seconds = float(settings.get("check_seconds", 0))
        return self._checked_at is not None and time.monotonic() - self._checked_at < seconds

    def _verify_due(self) -> bool:
        settings = self.pipe.parameters.get("cache") or {}
        minutes = float(settings.get("verify_minutes", DEFAULT_VERIFY_MINUTES))
        if not self.pipe.columns.get("datetime"):  # no sync time to find new rows by
            return True
        return time.time() - self._verified_at() >= minutes * 60

    def refreshed(self) -> Pipe:
        """The local pipe, refreshed first unless this process looked lately and no verify is due."""
        if not self._checked_lately() or self._verify_due():
            self.refresh()
        return self.local_pipe

    def refresh(self, verify: bool | None = None, progress: bool = False) -> CacheResult:
        """Bring the cache up to date: new rows always, past changes when ``verify`` (by
        default when due). Holds the cache file throughout: readers elsewhere wait."""
        started = time.perf_counter()
        result = CacheResult(str(self.pipe))
        checked_at = time.monotonic()
        with self.connector.db.session():
            local = self.local_pipe
            local.parameters = {**local.parameters, **self.pipe.parameters}
            if not local.exists():
                self._fill(result, progress)
            else:
                self._new_rows(result)
                if verify or (verify is None and self._verify_due()):
                    self._verify(result, progress)
        self._checked_at = checked_at
        result.duration = time.perf_counter() - started
        return result

    def _fill(self, result: CacheResult, progress: bool) -> None:
        """Copy the remote pipe chunk by chunk into an empty cache."""
        settings = VerifySettings.of(self.pipe, None, None)
        windows = verify_windows(self.pipe, None, None, settings)
        verified_at = time.time()
        batches: Iterable[pa.Table] = self._remote_batches(windows)
        if progress:
            from tqdm.auto import tqdm  # noqa: PLC0415 (only when a bar is wanted)

            batches = tqdm(batches, desc=f"cache {self.pipe}", unit="batch")
        for batch in batches:
            result.bytes_moved += batch.nbytes
            result.add(self.local_pipe.sync(batch))
        result.verified = True
        self._save_verified_at(verified_at)

    def _remote_batches(self, windows: list[Window]) -> Iterator[pa.Table]:
        instance = self.pipe.instance_connector
        for batch in instance.read_pipe_batches(self.pipe, None, windows, None, None):
            if batch.num_rows:
                yield batch

    def _new_rows(self, result: CacheResult) -> None:
        """The remote's rows after the cache's newest sync time (none without a datetime)."""
        newest = self.local_pipe.get_sync_time()
        remote_newest = self.pipe.get_sync_time() if newest is not None else None
        if newest is None or remote_newest is None or remote_newest <= newest:  # type: ignore[operator]
            return
        # From the newest time itself: rows of other keys may have joined it since.
        for batch in self._remote_batches([Window(newest, None)]):
            result.bytes_moved += batch.nbytes
            result.add(self.local_pipe.sync(batch))

    def _verify(self, result: CacheResult, progress: bool) -> None:
        """Compare the cache with the remote by fingerprints; re-sync and delete what differs."""
        verified_at = time.time()
        remote, local = self.pipe, self.local_pipe
        if not remote.get_columns_types() or not local.key_columns:
            # Dropped on the remote (or rows without keys, which verify cannot match): start over.
            local.drop()
            self._fill(result, progress)
            return
        begin, end = _span(remote, local)
        source = remote.instance_connector.pipe_fingerprints(remote)
        found = verify_pipe(local, begin, end, None, True, progress, source=source)
        result.add(found)
        result.deleted += found.deleted
        result.bytes_moved += found.bytes_moved
        result.verified = True
        self._save_verified_at(verified_at)

    def clear(self) -> None:
        """Delete the cache's files (the next read fills it again)."""
        with _CONNECTORS_GUARD:
            connector = _CONNECTORS.pop(self.path, None)
        if connector is not None:
            connector.close()
        self._local = None
        # Taken like DuckDBDatabase takes it: no other process is inside the file meanwhile.
        with FileLock(f"{self.path}.lock", thread_local=False):
            for path in (self.path, Path(f"{self.path}.wal"), self._state_path):
                path.unlink(missing_ok=True)


def _span(remote: Pipe, local: Pipe) -> tuple[Bound, Bound]:
    """From the oldest to just past the newest row of either side (open without a datetime)."""
    if not remote.columns.get("datetime"):
        return None, None
    sides = (remote, local)
    oldest = [t for t in (p.get_sync_time(newest=False) for p in sides) if t is not None]
    newest = [t for t in (p.get_sync_time() for p in sides) if t is not None]
    if not oldest or not newest:
        return None, None
    high: Any = max(newest)
    tick = 1 if isinstance(high, int) else timedelta(microseconds=1)
    return min(oldest), step(high, tick)
