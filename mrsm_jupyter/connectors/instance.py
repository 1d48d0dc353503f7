"""The instance contract: what every connector that stores pipes must do.

One small abstract class; the SQL connector (every flavor), and later the API and InfluxDB
connectors, implement it, and one contract test suite runs against each of them.
Data crosses this boundary as Arrow tables; windows are half-open ``[begin, end)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mrsm_jupyter.errors import ConnectorError
from mrsm_jupyter.pipes.bounds import Window, step

if TYPE_CHECKING:
    import pyarrow as pa

    from mrsm_jupyter.diagnostics.records import RunRecord
    from mrsm_jupyter.pipes.bounds import Bound
    from mrsm_jupyter.pipes.fingerprint import Fingerprinter
    from mrsm_jupyter.pipes.pipe import Pipe
    from mrsm_jupyter.pipes.result import SyncResult

Params = Mapping[str, Any]
PipeKeys = tuple[str, str, str | None]


class InstanceConnector(ABC):
    """Stores pipes' registrations and their rows."""

    type: str
    label: str

    @property
    def keys(self) -> str:
        return f"{self.type}:{self.label}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.keys!r})"

    # Registrations.
    @abstractmethod
    def register_pipe(self, pipe: Pipe) -> None: ...

    @abstractmethod
    def get_pipe_parameters(self, pipe: Pipe) -> dict[str, Any] | None:
        """The stored parameters, or ``None`` when the pipe is not registered."""

    @abstractmethod
    def edit_pipe(self, pipe: Pipe) -> None: ...

    @abstractmethod
    def delete_pipe(self, pipe: Pipe) -> None:
        """Drop the pipe's table and remove its registration."""

    @abstractmethod
    def fetch_pipes_keys(
        self,
        connector_keys: Sequence[str | None],
        metric_keys: Sequence[str | None],
        location_keys: Sequence[str | None],
        tags: Sequence[str],
    ) -> list[PipeKeys]:
        """Keys of registered pipes matching the filters (``_key`` negates a key)."""

    # Data.
    @abstractmethod
    def pipe_exists(self, pipe: Pipe) -> bool:
        """Whether the pipe's table exists."""

    @abstractmethod
    def sync_pipe(self, pipe: Pipe, batch: pa.Table) -> SyncResult:
        """Merge one normalized batch in one transaction."""

    @abstractmethod
    def read_pipe(
        self,
        pipe: Pipe,
        columns: Sequence[str] | None,
        window: Window,
        params: Params | None,
        order: str | None,
        limit: int | None,
    ) -> pa.Table: ...

    def read_pipe_batches(
        self,
        pipe: Pipe,
        columns: Sequence[str] | None,
        windows: Sequence[Window],
        params: Params | None,
        order: str | None,
    ) -> Iterator[pa.Table]:
        """Read consecutive windows; instances may override to stream faster."""
        for window in windows:
            yield self.read_pipe(pipe, columns, window, params, order, None)

    def get_distinct(
        self, pipe: Pipe, column: str, window: Window, params: Params | None, limit: int | None
    ) -> list[Any]:
        """Distinct values of one column, sorted; instances may override to ask the database."""
        table = self.read_pipe(pipe, [column], window, params, None, None)
        if table.num_columns == 0:
            return []
        values = sorted({v for v in table.column(0).to_pylist() if v is not None})
        return values[:limit] if limit is not None else values

    @abstractmethod
    def get_sync_time(self, pipe: Pipe, newest: bool, params: Params | None) -> Bound: ...

    @abstractmethod
    def get_rowcount(self, pipe: Pipe, window: Window, params: Params | None) -> int: ...

    @abstractmethod
    def get_columns_types(self, pipe: Pipe) -> dict[str, str]:
        """Canonical dtypes of the table's columns (empty when it does not exist)."""

    @abstractmethod
    def clear_pipe(self, pipe: Pipe, window: Window, params: Params | None) -> int:
        """Delete rows in the window; return how many."""

    @abstractmethod
    def drop_pipe(self, pipe: Pipe) -> None: ...

    @abstractmethod
    def deduplicate_pipe(self, pipe: Pipe) -> int:
        """Remove rows whose keys repeat (keeping one); return how many were removed."""

    # Verify.
    def pipe_fingerprints(self, pipe: Pipe) -> Fingerprinter:
        """Fingerprints of the pipe's rows (see ``pipes/fingerprint.py``). By default the rows
        are read and fingerprinted in this process; instances that can run the fingerprint
        SQL where the rows live override this."""
        from mrsm_jupyter.connectors.sql.fingerprint import ArrowFingerprints  # noqa: PLC0415 (duckdb)

        def load(window: Window) -> pa.Table:
            return self.read_pipe(pipe, None, window, None, None, None)

        return ArrowFingerprints(load, pipe.columns.get("datetime"))

    def delete_pipe_rows(self, pipe: Pipe, keys: pa.Table) -> int:
        """Delete the rows whose key columns equal a row of ``keys``; return how many.

        By default one :meth:`clear_pipe` per key row; instances override with one statement.
        """
        dt = pipe.columns.get("datetime")
        deleted = 0
        for row in keys.to_pylist():
            when = row.get(dt or "")
            tick = 1 if isinstance(when, int) else timedelta(microseconds=1)
            window = Window() if when is None else Window.of(when, step(when, tick))
            deleted += self.clear_pipe(pipe, window, {k: v for k, v in row.items() if k != dt})
        return deleted

    # Diagnostics: run records (see ``mrsm_jupyter/diagnostics/``).
    def record_run(self, run: RunRecord) -> None:
        """Keep a record of one sync, verify or job run. Called once per run, right after it
        ends (successful or not); instances that cannot store records keep none."""
        return None

    def read_runs(self, window: Window, kinds: Sequence[str] | None, limit: int | None) -> pa.Table:
        """Run records that started in ``window`` (of ``kinds``), oldest first, as an Arrow
        table with the columns of ``diagnostics.records.RUN_COLUMNS``."""
        raise ConnectorError(
            f"{self.keys} keeps no run records. Use a SQL (sql:...) or InfluxDB (influxdb:...) instance "
            "for diagnostics."
        )
