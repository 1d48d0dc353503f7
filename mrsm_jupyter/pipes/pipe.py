"""Pipe: a named, incrementally synced stream of rows on an instance.

Identity is ``(connector_keys, metric_key, location_key, instance_keys)``; the methods are
Meerschaum's and delegate to the instance connector.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from mrsm_jupyter.connectors.registry import DEFAULT_INSTANCE, definition_free_connector, get_connector
from mrsm_jupyter.diagnostics.recording import recorded
from mrsm_jupyter.errors import PipeError
from mrsm_jupyter.pipes.bounds import (
    DEFAULT_BACKTRACK_MINUTES,
    DEFAULT_CHUNK_MINUTES,
    Bound,
    Window,
    backtrack_begin,
    step,
)
from mrsm_jupyter.pipes.cache import CacheResult, PipeCache, is_remote
from mrsm_jupyter.pipes.dtypes import canonical_dtype
from mrsm_jupyter.pipes.frames import empty_frame, to_frame
from mrsm_jupyter.pipes.keys import default_target, validate_key, validate_location
from mrsm_jupyter.pipes.normalize import normalize_batch
from mrsm_jupyter.pipes.result import ActionResult, SyncResult
from mrsm_jupyter.pipes.verify import VerifyResult, verify_pipe
from mrsm_jupyter.plugins.manager import run_sync_hooks

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.instance import InstanceConnector

TimeLike = datetime | date | str | int | None
# Column roles that identify a row (every role but ``value``).
_KEY_ROLES = ("datetime", "primary")


class Pipe:
    """A time-series pipe.

    >>> pipe = Pipe("demo", "temperature", instance="sql:memory", columns={"datetime": "dt", "id": "station"})
    >>> pipe
    Pipe('demo', 'temperature', instance='sql:memory')
    """

    def __init__(
        self,
        connector_keys: str,
        metric_key: str,
        location_key: str | None = None,
        *,
        instance: str | InstanceConnector | None = None,
        parameters: Mapping[str, Any] | None = None,
        columns: Mapping[str, str | list[str]] | list[str] | None = None,
        dtypes: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
        target: str | None = None,
        upsert: bool | None = None,
        static: bool | None = None,
        mrsm_instance: str | None = None,
        cache: bool = False,
    ) -> None:
        self.connector_keys = validate_key(connector_keys, "connector_keys")
        self.metric_key = validate_key(metric_key, "metric_key")
        self.location_key = validate_location(location_key)
        instance = instance or mrsm_instance or DEFAULT_INSTANCE
        self.instance_keys = instance if isinstance(instance, str) else instance.keys
        self._instance = None if isinstance(instance, str) else instance
        given: dict[str, Any] = copy.deepcopy(dict(parameters or {}))
        for key, value in (
            ("columns", columns),
            ("dtypes", dtypes),
            ("tags", tags),
            ("target", target),
            ("upsert", upsert),
            ("static", static),
        ):
            if value is not None:
                given[key] = list(value) if key == "tags" and not isinstance(value, bool) else value
        if isinstance(given.get("columns"), list):  # Meerschaum's list form: all are ids
            given["columns"] = {f"id{i}" if i else "id": c for i, c in enumerate(given["columns"])}
        self._given = given
        self._parameters: dict[str, Any] | None = None
        # A local DuckDB copy answers get_data when the instance is remote (pipes/cache.py).
        self.cache = cache
        self._cache: PipeCache | None = None

    # Identity.
    def __repr__(self) -> str:
        keys = [repr(self.connector_keys), repr(self.metric_key)]
        if self.location_key is not None:
            keys.append(repr(self.location_key))
        return f"Pipe({', '.join(keys)}, instance={self.instance_keys!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipe) and self.keys == other.keys

    def __hash__(self) -> int:
        return hash(self.keys)

    @property
    def keys(self) -> tuple[str, str, str | None, str]:
        """``(connector_keys, metric_key, location_key, instance_keys)``: what identifies the pipe."""
        return (self.connector_keys, self.metric_key, self.location_key, self.instance_keys)

    @property
    def instance_connector(self) -> InstanceConnector:
        """The instance connector the pipe is stored on (built from ``instance_keys`` on first use)."""
        if self._instance is None:
            self._instance = get_connector(self.instance_keys)
        return self._instance

    # Parameters.
    @property
    def parameters(self) -> dict[str, Any]:
        """Registered parameters with the ones given to the constructor on top."""
        if self._parameters is None:
            stored = self.instance_connector.get_pipe_parameters(self) or {}
            self._parameters = {**stored, **copy.deepcopy(self._given)}
            if "dtypes" in stored and "dtypes" in self._given:
                self._parameters["dtypes"] = {**stored["dtypes"], **self._given["dtypes"]}
        return self._parameters

    @parameters.setter
    def parameters(self, value: Mapping[str, Any]) -> None:
        self._parameters = dict(value)

    @property
    def columns(self) -> dict[str, str]:
        """Column roles, e.g. ``{"datetime": "ts", "id": "station"}``; datetime and ids make a row's key."""
        return {str(k): str(v) for k, v in (self.parameters.get("columns") or {}).items() if v}

    @columns.setter
    def columns(self, value: Mapping[str, str]) -> None:
        self.parameters["columns"] = dict(value)

    @property
    def dtypes(self) -> dict[str, str]:
        """Declared (and recorded) dtypes in canonical form."""
        return {col: canonical_dtype(d) for col, d in (self.parameters.get("dtypes") or {}).items()}

    @dtypes.setter
    def dtypes(self, value: Mapping[str, str]) -> None:
        self.parameters["dtypes"] = dict(value)

    @property
    def tags(self) -> list[str]:
        """The pipe's tags (``-t`` selects pipes by tag)."""
        return list(self.parameters.get("tags") or [])

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self.parameters["tags"] = list(value)

    @property
    def target(self) -> str:
        """The pipe's table on its instance (``parameters['target']``, else a name made from the keys)."""
        return str(
            self.parameters.get("target")
            or default_target(self.connector_keys, self.metric_key, self.location_key)
        )

    @property
    def upsert(self) -> bool:
        """``parameters['upsert']`` (Meerschaum's flag): a unique key index, and matched rows are
        updated without comparing their values."""
        return bool(self.parameters.get("upsert", False))

    @property
    def static(self) -> bool:
        """``parameters['static']``: syncs never change the table; a batch that does not fit is refused."""
        return bool(self.parameters.get("static", False))

    @property
    def key_columns(self) -> list[str]:
        """Columns that tell rows apart: every role except ``value``."""
        cols = self.columns
        ordered = [cols[r] for r in _KEY_ROLES if r in cols]
        ordered += [c for r, c in cols.items() if r not in (*_KEY_ROLES, "value") and c not in ordered]
        return ordered

    @property
    def backtrack_minutes(self) -> int:
        """How far before the newest stored time an incremental sync starts
        (``fetch.backtrack_minutes``, default one day)."""
        fetch = self.parameters.get("fetch") or {}
        return int(fetch.get("backtrack_minutes", DEFAULT_BACKTRACK_MINUTES))

    # Registration.
    def register(self) -> ActionResult:
        """Register the pipe; a plugin source (``plugin:<name>``) proposes initial parameters
        with its ``register(pipe)``, under the ones given to the constructor."""
        started = time.perf_counter()
        source = definition_free_connector(self.connector_keys) if ":" in self.connector_keys else None
        propose = getattr(source, "register", None)
        initial = propose(self) if propose is not None else {}
        if initial:
            self._given = {**copy.deepcopy(initial), **self._given}
            self._parameters = None
        self.instance_connector.register_pipe(self)
        return ActionResult(str(self), "registered", duration=time.perf_counter() - started)

    def edit(self) -> ActionResult:
        """Save the pipe's current parameters to its instance."""
        self.instance_connector.edit_pipe(self)
        return ActionResult(str(self), "edited")

    def delete(self) -> ActionResult:
        """Drop the table and remove the registration."""
        self.instance_connector.delete_pipe(self)
        self.clear_cache()
        self._parameters = None
        return ActionResult(str(self), "deleted")

    def drop(self) -> ActionResult:
        """Drop the pipe's table, keeping its registration."""
        self.instance_connector.drop_pipe(self)
        self.clear_cache()
        return ActionResult(str(self), "dropped")

    def exists(self) -> bool:
        """Whether the pipe's table exists on its instance."""
        return self.instance_connector.pipe_exists(self)

    @property
    def is_registered(self) -> bool:
        """Whether the pipe's registration exists on its instance."""
        return self.instance_connector.get_pipe_parameters(self) is not None

    # Syncing.
    @recorded("sync")
    def sync(
        self, df: Any = None, *, begin: TimeLike = None, end: TimeLike = None, progress: bool = False
    ) -> SyncResult:
        """Sync a batch, or an iterator of batches (each one merged in its own transaction).

        Accepts a pandas or polars DataFrame, a pyarrow Table, a list of dicts, a dict of
        lists, or an iterator or generator of these.
        """
        run_sync_hooks("pre_sync", self)
        if df is None:
            result = self._sync_from_source(begin, end, progress)
        else:
            result = self._sync_given(df, progress)
        run_sync_hooks("post_sync", self, result)
        return result

    def _sync_given(self, df: Any, progress: bool) -> SyncResult:
        return self._sync_batches(df, progress) if _is_batch_iterator(df) else self._sync_one(df)

    def _sync_from_source(self, begin: TimeLike, end: TimeLike, progress: bool) -> SyncResult:
        window = self._fetch_window(begin, end)
        inside = getattr(self.source_connector, "sync_in_database", None)
        done: SyncResult | None = inside(self, window) if inside is not None else None
        if done is not None:  # the source is the instance's own database: no rows moved
            return done
        return self._sync_given(self.fetch(begin=window.begin, end=window.end), progress)

    @property
    def source_connector(self) -> Any:
        """The connector rows come from (``None`` for a bare label such as ``"demo"``)."""
        return get_connector(self.connector_keys) if ":" in self.connector_keys else None

    def fetch(self, begin: TimeLike = None, end: TimeLike = None) -> Any:
        """Rows from the source in ``[begin, end)``; ``begin`` defaults to the newest sync time
        minus ``fetch.backtrack_minutes``."""
        source = self.source_connector
        if source is None or not hasattr(source, "fetch"):
            raise PipeError(
                self,
                f"has no source to fetch from ({self.connector_keys!r} is only a label).",
                "Pass the rows: pipe.sync(df), or give the pipe a source connector such as 'sql:src'.",
            )
        return source.fetch(self, self._fetch_window(begin, end))

    def _fetch_window(self, begin: TimeLike, end: TimeLike) -> Window:
        if begin is None:
            begin = backtrack_begin(self.get_sync_time(), self.backtrack_minutes)
        return Window.of(begin, end)

    def verify(
        self,
        begin: TimeLike = None,
        end: TimeLike = None,
        chunk_interval: timedelta | int | None = None,
        deletes: bool | None = None,
        *,
        progress: bool = False,
    ) -> VerifyResult:
        """Find rows that changed at the source anywhere in ``[begin, end)`` (by default the
        pipe's whole span) and re-sync only them; ``deletes`` (default
        ``parameters['verify']['deletes']``) also removes rows the source no longer has.

        Chunks are compared by fingerprints computed where the rows live; see
        ``mrsm_jupyter/pipes/verify.py``.
        """
        return verify_pipe(self, begin, end, chunk_interval, deletes, progress)

    def _sync_one(self, df: Any) -> SyncResult:
        batch = normalize_batch(df, self.dtypes, self.key_columns, self.columns.get("datetime"), self)
        if batch.num_columns == 0:  # nothing to store, and no table can be made of no columns
            return SyncResult(str(self), batches=1)
        result = self.instance_connector.sync_pipe(self, batch)
        result.nbytes = batch.nbytes
        if self.local_cache is not None:  # new rows, and past rows changed when some were updated
            self.local_cache.invalidate(past=result.updated > 0)
        return result

    # Local cache.
    @property
    def local_cache(self) -> PipeCache | None:
        """The pipe's local DuckDB cache (``cache=True`` on a remote instance), else ``None``."""
        if self._cache is None and self.cache and is_remote(self.instance_connector):
            self._cache = PipeCache(self)
        return self._cache

    def refresh_cache(self, verify: bool | None = None, progress: bool = False) -> CacheResult:
        """Bring the local cache up to date (``get_data`` does it before each read): new rows
        always, past changes by verify fingerprints when ``verify`` (by default every
        ``parameters['cache']['verify_minutes']``, 60)."""
        cache = self.local_cache
        if cache is None:
            raise PipeError(
                self,
                f"has no local cache (cache={self.cache}, instance {self.instance_keys}).",
                "Create it with Pipe(..., cache=True) on an api: or server database instance.",
            )
        return cache.refresh(verify, progress)

    def clear_cache(self) -> None:
        """Delete the local cache's files (no-op without a cache); the next read refills it."""
        if self.local_cache is not None:
            self.local_cache.clear()

    def _sync_batches(self, batches: Iterable[Any], progress: bool) -> SyncResult:
        total = SyncResult(str(self))
        if progress:
            from tqdm.auto import tqdm  # noqa: PLC0415 (only when a bar is wanted)

            batches = tqdm(batches, desc=str(self), unit="batch")
        for batch in batches:
            total.add(self._sync_one(batch))
        return total

    # Reading.
    @overload
    def get_data(
        self,
        select_columns: Sequence[str] | None = None,
        omit_columns: Sequence[str] | None = None,
        begin: TimeLike = None,
        end: TimeLike = None,
        params: Mapping[str, Any] | None = None,
        order: str | None = "asc",
        limit: int | None = None,
        as_iterator: Literal[False] = False,
        chunk_interval: timedelta | int | None = None,
    ) -> pd.DataFrame: ...

    @overload
    def get_data(
        self,
        select_columns: Sequence[str] | None = None,
        omit_columns: Sequence[str] | None = None,
        begin: TimeLike = None,
        end: TimeLike = None,
        params: Mapping[str, Any] | None = None,
        order: str | None = "asc",
        limit: int | None = None,
        *,
        as_iterator: Literal[True],
        chunk_interval: timedelta | int | None = None,
    ) -> Iterator[pd.DataFrame]: ...

    def get_data(
        self,
        select_columns: Sequence[str] | None = None,
        omit_columns: Sequence[str] | None = None,
        begin: TimeLike = None,
        end: TimeLike = None,
        params: Mapping[str, Any] | None = None,
        order: str | None = "asc",
        limit: int | None = None,
        as_iterator: bool = False,
        chunk_interval: timedelta | int | None = None,
    ) -> pd.DataFrame | Iterator[pd.DataFrame]:
        """Rows in ``[begin, end)`` matching ``params``, as a DataFrame (or chunks of one).

        With a local cache, answered from it once it is refreshed."""
        pipe = self._reader()
        columns = pipe._selected_columns(select_columns, omit_columns)
        window = Window.of(begin, end)
        if as_iterator:
            return pipe._iterate_data(columns, window, params, order, chunk_interval)
        table = pipe.instance_connector.read_pipe(pipe, columns, window, params, order, limit)
        if table.num_columns == 0:
            return empty_frame(pipe.dtypes)
        return to_frame(table, pipe.dtypes)

    def _reader(self) -> Pipe:
        """The pipe reads go to: this one, or its local cache's copy, refreshed."""
        if self.local_cache is None:
            return self
        return self.local_cache.refreshed()

    def _selected_columns(self, select: Sequence[str] | None, omit: Sequence[str] | None) -> list[str] | None:
        if not select and not omit:
            return None
        names = list(select) if select else list(self.get_columns_types())
        return [c for c in names if c not in (omit or [])]

    def _iterate_data(
        self,
        columns: list[str] | None,
        window: Window,
        params: Mapping[str, Any] | None,
        order: str | None,
        chunk_interval: timedelta | int | None,
    ) -> Iterator[pd.DataFrame]:
        begin = window.begin if window.begin is not None else self.get_sync_time(newest=False, params=params)
        end = window.end
        if end is None:
            newest = self.get_sync_time(newest=True, params=params)
            # The newest row must fall inside the last half-open window.
            end = (
                None
                if newest is None
                else step(newest, 1 if isinstance(newest, int) else timedelta(microseconds=1))
            )
        interval = chunk_interval or timedelta(minutes=DEFAULT_CHUNK_MINUTES)
        for chunk in Window(begin, end).chunks(interval):
            table = self.instance_connector.read_pipe(self, columns, chunk, params, order, None)
            if table.num_rows:
                yield to_frame(table, self.dtypes)

    def get_docs(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Rows as a list of dicts (same arguments as :meth:`get_data`)."""
        df: pd.DataFrame = self.get_data(**kwargs)
        return df.to_dict(orient="records")  # type: ignore[return-value]

    def get_doc(self, **kwargs: Any) -> dict[str, Any] | None:
        """The first row :meth:`get_docs` gives (with the same arguments), or ``None``."""
        docs = self.get_docs(limit=1, **kwargs)
        return docs[0] if docs else None

    def get_value(self, column: str, params: Mapping[str, Any] | None = None, order: str = "desc") -> Any:
        """One column's value in the newest (``order='desc'``) or oldest row matching ``params``."""
        doc = self.get_doc(select_columns=[column], params=params, order=order)
        return None if doc is None else doc.get(column)

    def get_backtrack_data(
        self,
        backtrack_minutes: int | None = None,
        begin: TimeLike = None,
        params: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Rows in the backtrack window before the newest sync time (or before ``begin``)."""
        newest = Window.of(begin, None).begin if begin is not None else self.get_sync_time(params=params)
        minutes = self.backtrack_minutes if backtrack_minutes is None else backtrack_minutes
        df = self.get_data(begin=backtrack_begin(newest, minutes), params=params)
        assert isinstance(df, pd.DataFrame)
        return df

    def get_rowcount(
        self, begin: TimeLike = None, end: TimeLike = None, params: Mapping[str, Any] | None = None
    ) -> int:
        """Rows in ``[begin, end)`` matching ``params``."""
        return self.instance_connector.get_rowcount(self, Window.of(begin, end), params)

    def get_distinct(
        self,
        column: str,
        begin: TimeLike = None,
        end: TimeLike = None,
        params: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[Any]:
        """The distinct non-null values of ``column`` in ``[begin, end)``, sorted."""
        return self.instance_connector.get_distinct(self, column, Window.of(begin, end), params, limit)

    def get_sync_time(self, newest: bool = True, params: Mapping[str, Any] | None = None) -> Bound:
        """The newest (or oldest) value of the datetime column; ``None`` when there are no rows."""
        value = self.instance_connector.get_sync_time(self, newest, params)
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value

    def get_columns_types(self) -> dict[str, str]:
        """The table's columns and their dtypes (``int``, ``float``, ``str``, ``datetime``...)."""
        return self.instance_connector.get_columns_types(self)

    # Maintenance.
    def clear(
        self, begin: TimeLike = None, end: TimeLike = None, params: Mapping[str, Any] | None = None
    ) -> ActionResult:
        """Delete rows in ``[begin, end)`` matching ``params``."""
        rows = self.instance_connector.clear_pipe(self, Window.of(begin, end), params)
        if rows and self.local_cache is not None:
            self.local_cache.invalidate(past=True)
        return ActionResult(str(self), "cleared", rows=rows)

    def deduplicate(self) -> ActionResult:
        """Remove rows whose keys repeat, keeping one of each (the pipe needs key columns)."""
        rows = self.instance_connector.deduplicate_pipe(self)
        return ActionResult(str(self), "deduplicated", rows=rows)

    def copy_to(
        self,
        instance: str | InstanceConnector,
        begin: TimeLike = None,
        end: TimeLike = None,
        params: Mapping[str, Any] | None = None,
        chunk_interval: timedelta | int | None = None,
    ) -> SyncResult:
        """Copy this pipe (registration and rows) to another instance, chunk by chunk."""
        other = Pipe(
            self.connector_keys,
            self.metric_key,
            self.location_key,
            instance=instance,
            parameters=self.parameters,
        )
        other.register()
        chunks = self.get_data(
            begin=begin, end=end, params=params, as_iterator=True, chunk_interval=chunk_interval
        )
        return other.sync(chunks)


def _is_batch_iterator(data: Any) -> bool:
    if isinstance(data, (pd.DataFrame, list, tuple, dict, str, bytes)):
        return False
    if type(data).__module__.startswith(("pyarrow", "polars")):
        return False
    return isinstance(data, Iterator) or hasattr(data, "__next__")
