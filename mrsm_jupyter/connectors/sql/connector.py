"""SQLConnector: the instance contract on a SQL database, asking its flavor for every statement."""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from filelock import FileLock, Timeout

from mrsm_jupyter.config import root_dir
from mrsm_jupyter.connectors.instance import InstanceConnector, Params, PipeKeys
from mrsm_jupyter.connectors.sql.database import (
    LOCK_TIMEOUT_SECONDS,
    Database,
    DuckDBDatabase,
    LockError,
    Session,
    SQLAlchemyDatabase,
)
from mrsm_jupyter.connectors.sql.fingerprint import Reader, SQLFingerprints
from mrsm_jupyter.connectors.sql.flavors import flavor_for_uri
from mrsm_jupyter.connectors.sql.in_database import sync_in_database
from mrsm_jupyter.connectors.sql.registrations import PIPES_TABLE, Registry
from mrsm_jupyter.connectors.sql.runs import RunLog
from mrsm_jupyter.errors import ConnectorError, LockTimeoutError, PipeError, SchemaError, SyncError
from mrsm_jupyter.pipes.bounds import Bound, Window
from mrsm_jupyter.pipes.dtypes import STORED_AS, meerschaum_name
from mrsm_jupyter.pipes.fetch import PipeReference, resolve_references
from mrsm_jupyter.pipes.result import SyncResult
from mrsm_jupyter.pipes.schema import SchemaPlan, plan_schema

if TYPE_CHECKING:
    from mrsm_jupyter.diagnostics.records import RunRecord
    from mrsm_jupyter.pipes.pipe import Pipe

ErrorTypes = tuple[type[BaseException], ...]
# Builds a read's SQL from the table's dtypes and the WHERE clause; returns it with the
# dtypes of the result's columns.
ReadBuilder = Callable[[Mapping[str, str], str], tuple[str, Mapping[str, str]]]

# Drivers Meerschaum users' URIs imply, made explicit for SQLAlchemy.
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "timescaledb": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def _sqlalchemy_uri(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


class SQLConnector(InstanceConnector):
    """A SQL database as a pipe instance (and as a source, through ``fetch.definition``)."""

    type = "sql"

    def __init__(self, label: str, uri: str) -> None:
        self.label = label
        self.flavor = flavor_for_uri(uri)
        self.db: Database = self._open_database(uri)
        self._registry = Registry(self.db)
        self._runs = RunLog(self.db)
        self._pipe_locks: dict[int, FileLock] = {}
        self._pipe_locks_guard = threading.Lock()

    @property
    def _database_errors(self) -> ErrorTypes:
        """What a database (not our code) raises: only these become a SyncError."""
        return (sa.exc.DBAPIError, duckdb.Error, *self.flavor.driver_errors())

    def _open_database(self, uri: str) -> Database:
        if self.flavor.name == "duckdb":
            path = uri.split("://", 1)[1].lstrip("/")
            if path in ("", ":memory:"):
                return DuckDBDatabase(self.flavor, None)
            return DuckDBDatabase(self.flavor, "/" + path if uri.startswith("duckdb:////") else path)
        try:
            return SQLAlchemyDatabase(self.flavor, _sqlalchemy_uri(uri))
        except (sa.exc.ArgumentError, ImportError, ValueError) as exc:  # ValueError: e.g. a bad port
            raise ConnectorError(
                f"sql:{self.label}: cannot use its URI ({exc}). Check MRSM_SQL_{self.label.upper()}."
            ) from exc

    @property
    def registry(self) -> Registry:
        return self._registry.ensure()

    def __repr__(self) -> str:
        return f"SQLConnector('sql:{self.label}', {self.db.description!r})"

    # Registrations.
    def register_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe) as s:
            self._pipe_id(s, pipe)

    def get_pipe_parameters(self, pipe: Pipe) -> dict[str, Any] | None:
        self._registry.ensure()
        with self.db.session() as s:
            found = self.registry.lookup(s, pipe)
        return None if found is None else found[1]

    def edit_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe) as s:
            found = self.registry.lookup(s, pipe)
            if found is None:
                raise PipeError(
                    pipe, "is not registered, so it cannot be edited.", "Call pipe.register() first."
                )
            self.registry.update_parameters(s, found[0], pipe.parameters)

    def delete_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe) as s:
            found = self.registry.lookup(s, pipe)
            s.execute(self.flavor.drop_table(self._table(pipe)))
            if found is not None:
                self.registry.delete(s, found[0])

    def fetch_pipes_keys(
        self,
        connector_keys: Sequence[str | None],
        metric_keys: Sequence[str | None],
        location_keys: Sequence[str | None],
        tags: Sequence[str],
    ) -> list[PipeKeys]:
        self._registry.ensure()
        with self.db.session() as s:
            return self.registry.keys(s, connector_keys, metric_keys, location_keys, tags)

    # Tables.
    def _table(self, pipe: Pipe) -> str:
        return self.flavor.table(pipe.target, pipe.parameters.get("schema"))

    def _columns_types(self, s: Session, pipe: Pipe) -> dict[str, str]:
        sql, params = self.flavor.columns_query(pipe.target, pipe.parameters.get("schema"))
        catalog = {
            str(name): self.flavor.dtype_of_sql_type(str(typ)) for name, typ in s.fetchall(sql, params)
        }
        declared = pipe.dtypes
        for name, dtype in catalog.items():
            if (declared.get(name), dtype) in STORED_AS:
                catalog[name] = declared[name]
        datetime_column = pipe.columns.get("datetime")
        if catalog.get(datetime_column or "") == "str":  # SQLite text of unknown meaning
            catalog[str(datetime_column)] = "datetime"
        return catalog

    def get_columns_types(self, pipe: Pipe) -> dict[str, str]:
        with self.db.session() as s:
            return self._columns_types(s, pipe)

    def pipe_exists(self, pipe: Pipe) -> bool:
        return bool(self.get_columns_types(pipe))

    def _check_new_table(self, s: Session, pipe: Pipe) -> None:
        """Refuse names the database would truncate or fold onto another table."""
        if len(pipe.target.encode()) > self.flavor.max_identifier_length:
            raise SchemaError(
                pipe,
                f"its table name {pipe.target!r} is longer than {self.flavor.name}'s "
                f"{self.flavor.max_identifier_length} bytes and would be truncated.",
                "Give the pipe a shorter target=...",
            )
        sql, params = self.flavor.tables_like_query(pipe.target)
        clashes = [name for (name,) in s.fetchall(sql, params) if name != pipe.target]
        if clashes:
            raise SchemaError(
                pipe,
                f"its table {pipe.target!r} would collide with the existing table {clashes[0]!r} "
                f"({self.flavor.name} ignores case in names).",
                "Give the pipe another target=...",
            )

    def _check_new_columns(self, pipe: Pipe, current: Mapping[str, str], new: Sequence[str]) -> None:
        """Refuse column names the database would truncate, or fold onto another column."""
        limit, fold = self.flavor.max_identifier_length, self.flavor.folds_identifier_case
        seen = {c.lower() if fold else c: c for c in current}
        for name in new:
            if len(name.encode()) > limit:
                raise SchemaError(
                    pipe,
                    f"its column name {name[:80]!r} is longer than {self.flavor.name}'s {limit} bytes "
                    "and would be truncated.",
                    "Rename the column.",
                )
            other = seen.setdefault(name.lower() if fold else name, name)
            if other != name:
                raise SchemaError(
                    pipe,
                    f"its columns {other!r} and {name!r} would be one column "
                    f"({self.flavor.name} ignores case in names).",
                    "Rename one of them.",
                )

    def _create_table(
        self, s: Session, pipe: Pipe, batch: pa.Table, columns: Mapping[str, str], keys: Sequence[str]
    ) -> None:
        """Create the table, load the first batch straight into it, then index it (as a bulk
        load should: an index built once is cheaper than one maintained row by row)."""
        self._check_new_table(s, pipe)
        table = self._table(pipe)
        for statement in self.flavor.create_table(table, columns, keys):
            s.execute(statement)
        if batch.num_rows:
            s.load(table, batch)
        if keys and (self.flavor.indexes_keys or pipe.upsert):
            s.execute(self.flavor.create_key_index(table, pipe.target, keys, unique=pipe.upsert))

    def _alter_table(self, s: Session, pipe: Pipe, plan: SchemaPlan, current: Mapping[str, str]) -> None:
        table = self._table(pipe)
        for column, dtype in plan.add.items():
            for statement in self.flavor.add_column(table, column, dtype):
                s.execute(statement)
        columns = {**current, **plan.add}
        for column, dtype in plan.widen.items():
            for statement in self.flavor.widen_column(
                table, pipe.target, column, dtype, columns, pipe.key_columns
            ):
                s.execute(statement)
            columns[column] = dtype

    # Writing: one writer per pipe.
    def _lock_key(self, pipe: Pipe) -> int:
        digest = hashlib.sha256(repr((pipe.connector_keys, pipe.metric_key, pipe.location_key)).encode())
        return int.from_bytes(digest.digest()[:4], "big") & 0x7FFFFFFF

    def _file_lock(self, key: int) -> FileLock:
        with self._pipe_locks_guard:
            lock = self._pipe_locks.get(key)
            if lock is None:
                name = hashlib.sha256(f"{self.db.description}|{key}".encode()).hexdigest()[:24]
                (root_dir() / "locks").mkdir(exist_ok=True)
                lock = self._pipe_locks[key] = FileLock(root_dir() / "locks" / f"{name}.lock")
            return lock

    @contextmanager
    def _locked(self, pipe: Pipe) -> Iterator[Session]:
        """A transaction holding the pipe's lock: a database lock where the flavor has one,
        else a lock file (threads, processes and kernels on this machine)."""
        if self.db.read_only:
            raise PipeError(
                pipe,
                f"cannot be changed: its instance {self.db.description} is read-only "
                "(the file or its directory cannot be written).",
                "Make it writable and open it again (a new kernel, or clear_connector_cache()), "
                "or use another instance.",
            )
        self._registry.ensure()
        key = self._lock_key(pipe)
        lock = self.flavor.lock_pipe(key)
        file_lock = self._file_lock(key) if lock is None else None
        try:
            with (
                file_lock.acquire(timeout=LOCK_TIMEOUT_SECONDS) if file_lock else nullcontext(),
                self.db.transaction(lock, self.flavor.unlock_pipe(key)) as s,
            ):
                yield s
        except (Timeout, LockError) as exc:
            raise LockTimeoutError(
                pipe,
                f"another writer held it for over {LOCK_TIMEOUT_SECONDS:.0f} s.",
                "Wait for that sync to finish, or raise MRSM_LOCK_TIMEOUT.",
            ) from exc

    def _pipe_id(self, s: Session, pipe: Pipe) -> int:
        found = self.registry.lookup(s, pipe)
        return found[0] if found is not None else self.registry.insert(s, pipe)

    def sync_pipe(self, pipe: Pipe, batch: pa.Table) -> SyncResult:
        started = time.perf_counter()
        result = SyncResult(str(pipe), batches=1)
        recorded = copy.deepcopy(pipe.parameters.get("dtypes"))
        try:
            with self._locked(pipe) as s:
                self._merge(s, pipe, self._pipe_id(s, pipe), batch, result)
        except Exception as exc:
            # Rolled back: so are the dtypes this sync recorded on the pipe object.
            pipe.parameters.pop("dtypes", None)
            if recorded is not None:
                pipe.parameters["dtypes"] = recorded
            if not isinstance(exc, self._database_errors):
                raise
            raise SyncError(
                pipe,
                f"the database refused the batch ({type(exc).__name__}: {exc}).",
                "The table is unchanged; fix the batch or the database and sync again.",
            ) from exc
        result.duration = time.perf_counter() - started
        return result

    def _merge(self, s: Session, pipe: Pipe, pipe_id: int, batch: pa.Table, result: SyncResult) -> None:
        current = self._columns_types(s, pipe)
        plan = plan_schema(batch, current, pipe.dtypes, pipe.static, pipe)
        types = plan.columns_types
        keys = [k for k in pipe.key_columns if k in types]
        result.columns_added, result.columns_widened = list(plan.add), list(plan.widen)
        self._check_new_columns(pipe, current, list(plan.add))
        # The dtypes are recorded after the DDL: where DDL commits on its own (MySQL), a crash
        # must leave the registration behind the table, never ahead of it.
        if not current:
            self._create_table(s, pipe, plan.batch, types, keys)
            self._remember_dtypes(s, pipe, pipe_id, types)
            result.created_table, result.inserted = True, plan.batch.num_rows
            return
        self._alter_table(s, pipe, plan, current)
        self._remember_dtypes(s, pipe, pipe_id, {**current, **types})
        if plan.batch.num_rows:
            self._ensure_partitions(s, pipe, plan.batch)
            self._merge_rows(s, pipe, plan, keys, result)

    def _merge_rows(
        self, s: Session, pipe: Pipe, plan: SchemaPlan, keys: Sequence[str], result: SyncResult
    ) -> None:
        """Insert new keys, update changed rows, leave identical rows alone (in the database)."""
        table, columns = self._table(pipe), list(plan.columns_types)
        stage = s.stage(plan.batch, plan.columns_types, keys)
        if not keys:
            result.inserted = s.execute(self.flavor.insert_all(table, stage, columns))
            return
        nullable = [k for k in keys if plan.batch.column(k).null_count]
        merge = self.flavor.merge(table, stage, keys, columns, nullable, pipe.upsert)
        if merge is not None:
            actions = s.fetch_arrow(merge, None, {}).column(0)
            result.inserted = int(pc.sum(pc.equal(actions, "INSERT")).as_py() or 0)
            result.updated = len(actions) - result.inserted
        else:
            values = [c for c in columns if c not in keys]
            if values:
                update = self.flavor.update_changed(table, stage, keys, values, nullable, pipe.upsert)
                result.updated = s.execute(update)
            result.inserted = s.execute(self.flavor.insert_new(table, stage, keys, columns, nullable))
        result.unchanged = plan.batch.num_rows - result.inserted - result.updated

    def _ensure_partitions(self, s: Session, pipe: Pipe, batch: pa.Table) -> None:
        """Tables Meerschaum partitioned need a partition for every interval a batch touches."""
        dt = pipe.columns.get("datetime")
        query = self.flavor.partitioned_query(self._table(pipe))
        if query is None or dt not in batch.column_names or not s.fetchall(*query):
            return
        width = timedelta(minutes=int((pipe.parameters.get("verify") or {}).get("chunk_minutes", 43200)))
        bounds = pc.min_max(batch.column(dt)).as_py()
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        low = epoch + (bounds["min"] - epoch) // width * width
        while low <= bounds["max"]:
            s.execute(self.flavor.create_partition(self._table(pipe), pipe.target, low, low + width))
            low += width

    def _remember_dtypes(self, s: Session, pipe: Pipe, pipe_id: int, types: Mapping[str, str]) -> None:
        """Record every column's dtype with the registration (Meerschaum reads them too)."""
        known = pipe.dtypes
        new = {c: d for c, d in types.items() if known.get(c) != d}
        if new:
            stored = pipe.parameters.setdefault("dtypes", {})
            stored.update({c: meerschaum_name(d) for c, d in new.items()})
            self.registry.update_parameters(s, pipe_id, pipe.parameters)

    # Reading.
    def _read(self, pipe: Pipe, window: Window, params: Params | None, build: ReadBuilder) -> pa.Table | None:
        """Run one read; ``None`` when the pipe has no table.

        Flavors answering with typed Arrow (DuckDB) skip the catalog when the registration
        knows every dtype; the catalog is read only to explain (or retry) a failed read.
        """
        with self.db.session() as s:
            if self.flavor.returns_typed_arrow and pipe.dtypes:
                try:
                    return self._read_with(s, pipe, window, params, build, pipe.dtypes)
                except Exception:  # stale dtypes or no table: ask the catalog below
                    pass
            types = self._columns_types(s, pipe)
            return self._read_with(s, pipe, window, params, build, types) if types else None

    def _read_with(
        self,
        s: Session,
        pipe: Pipe,
        window: Window,
        params: Params | None,
        build: ReadBuilder,
        types: Mapping[str, str],
    ) -> pa.Table:
        where, bound = self._filter(pipe, window, params, types)
        sql, dtypes = build(types, where)
        return s.fetch_arrow(sql, bound, dtypes)

    def _filter(
        self, pipe: Pipe, window: Window, params: Params | None, types: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]]:
        """The WHERE clause of a window and params, checked against the table's columns."""
        unknown = [c for c in (params or {}) if c not in types]
        if unknown:
            raise PipeError(
                pipe, f"has no column {unknown[0]!r} to filter on.", f"Columns are: {', '.join(types)}."
            )
        dt = pipe.columns.get("datetime")
        return self.flavor.where(dt if dt in types else None, window.begin, window.end, params, types)

    def read_pipe(
        self,
        pipe: Pipe,
        columns: Sequence[str] | None,
        window: Window,
        params: Params | None,
        order: str | None,
        limit: int | None,
    ) -> pa.Table:
        def build(types: Mapping[str, str], where: str) -> tuple[str, Mapping[str, str]]:
            missing = [c for c in columns or [] if c not in types]
            if missing:
                raise PipeError(
                    pipe, f"has no column {missing[0]!r} to select.", f"Columns are: {', '.join(types)}."
                )
            order_by = [c for c in pipe.key_columns if c in types] if order else []
            return self.flavor.select(
                self._table(pipe), columns, where, order_by, order == "desc", limit
            ), types

        table = self._read(pipe, window, params, build)
        return pa.table({}) if table is None else table

    def _aggregate(
        self, pipe: Pipe, expression: str, window: Window, params: Params | None, dtype: str
    ) -> Any:
        def build(types: Mapping[str, str], where: str) -> tuple[str, Mapping[str, str]]:
            return self.flavor.aggregate(self._table(pipe), f"{expression} AS value", where), {"value": dtype}

        table = self._read(pipe, window, params, build)
        return None if table is None else table.column(0)[0].as_py()

    def get_distinct(
        self, pipe: Pipe, column: str, window: Window, params: Params | None, limit: int | None
    ) -> list[Any]:
        def build(types: Mapping[str, str], where: str) -> tuple[str, Mapping[str, str]]:
            if column not in types:
                raise PipeError(pipe, f"has no column {column!r}.", f"Columns are: {', '.join(types)}.")
            col = self.flavor.quote(column)
            where += (" AND " if where else " WHERE ") + f"{col} IS NOT NULL"
            sql = self.flavor.select(self._table(pipe), [column], where, [column], False, limit)
            return sql.replace("SELECT ", "SELECT DISTINCT ", 1), {column: types[column]}

        table = self._read(pipe, window, params, build)
        return [] if table is None else table.column(0).to_pylist()

    def get_sync_time(self, pipe: Pipe, newest: bool, params: Params | None) -> Bound:
        dt = pipe.columns.get("datetime")
        if not dt:
            return None
        func = "MAX" if newest else "MIN"
        value: Bound = self._aggregate(
            pipe, f"{func}({self.flavor.quote(dt)})", Window(), params, pipe.dtypes.get(dt, "datetime")
        )
        return value

    def get_rowcount(self, pipe: Pipe, window: Window, params: Params | None) -> int:
        return int(self._aggregate(pipe, "COUNT(*)", window, params, "int") or 0)

    # As a source: ``parameters.fetch.definition`` read between begin and end.
    def fetch(self, pipe: Pipe, window: Window) -> pa.Table:
        """Rows of the pipe's fetch definition in ``[begin, end)`` of its datetime column."""
        where, bound = self._fetch_where(pipe, window)
        return self._fetch_reader(pipe)(f"SELECT * FROM {self._fetch_relation(pipe)}{where}", bound, {})

    def fetch_suggestions(self) -> dict[str, str]:
        """Fetch definitions to start from, by label: each pipe stored here, as a reference.
        A database that holds no pipes is left as it is (no registrations table is created)."""
        with self.db.session() as s:
            holds_pipes = PIPES_TABLE in (
                name for (name,) in s.fetchall(*self.flavor.tables_like_query(PIPES_TABLE))
            )
        suggestions: dict[str, str] = {}
        for keys in self.fetch_pipes_keys([], [], [], []) if holds_pipes else []:
            written = ", ".join(repr(k) for k in keys if k is not None)
            reference = f"{{{{ Pipe({written}, instance={self.keys!r}) }}}}"
            suggestions[f"pipe {written}"] = f"SELECT * FROM {reference}"
        return suggestions

    def fetch_preview(self, pipe: Pipe, limit: int) -> pa.Table:
        """The first ``limit`` rows of the fetch definition (no window), e.g. for a wizard."""
        sql = self.flavor.select(self._fetch_relation(pipe), None, "", [], False, limit)
        return self._fetch_reader(pipe)(sql, {}, {})

    def _fetch_relation(self, pipe: Pipe) -> str:
        definition = str((pipe.parameters.get("fetch") or {}).get("definition") or "").strip().rstrip(";")
        if not definition:
            raise PipeError(
                pipe,
                f"has no fetch definition to read {self.keys} with.",
                "Set parameters={'fetch': {'definition': 'SELECT ...'}}, or pass rows: pipe.sync(df).",
            )
        return f"({resolve_references(definition, self._reference_table)}) AS mrsm_src"

    def _fetch_dtypes(self, pipe: Pipe) -> dict[str, str]:
        # The source's types are unknown; the pipe's dtypes (and its datetime column) guide
        # drivers that answer in text (SQLite).
        dt = pipe.columns.get("datetime")
        return {**({dt: "datetime"} if dt else {}), **pipe.dtypes}

    def _fetch_where(self, pipe: Pipe, window: Window) -> tuple[str, dict[str, Any]]:
        dt = pipe.columns.get("datetime")
        return self.flavor.where(dt, window.begin, window.end, None, self._fetch_dtypes(pipe))

    def _fetch_reader(self, pipe: Pipe, prelude: Sequence[str] = ()) -> Reader:
        """Runs queries on the fetch definition (the pipe's dtypes type the answer when the
        query asks for none), after the ``prelude`` statements; database errors name the pipe
        and its definition."""

        def read(sql: str, params: Mapping[str, Any], dtypes: Mapping[str, str]) -> pa.Table:
            try:
                with self.db.session() as s:
                    for statement in prelude:
                        s.execute(statement)
                    return s.fetch_arrow(sql, params, dtypes or self._fetch_dtypes(pipe))
            except self._database_errors as exc:
                raise PipeError(
                    pipe,
                    f"its fetch definition failed on {self.keys} ({type(exc).__name__}: {exc}).",
                    "Fix parameters['fetch']['definition'] (it must select the pipe's datetime column).",
                ) from exc

        return read

    def sync_in_database(self, pipe: Pipe, window: Window) -> SyncResult | None:
        """Sync the definition's rows into the pipe's table without them leaving the database,
        when it is this one; None when they must come through Arrow (``sql/in_database.py``)."""
        return sync_in_database(self, pipe, window)

    # Fingerprints for verify, computed by the database (connectors/sql/fingerprint.py).
    def fetch_fingerprints(self, pipe: Pipe) -> SQLFingerprints:
        """The source side of a verify: fingerprints of the fetch definition's rows."""
        relation = self._fetch_relation(pipe)
        read = self._fetch_reader(pipe, self.flavor.fingerprint_prelude)
        return SQLFingerprints(
            self.flavor,
            relation,
            lambda: read(f"SELECT * FROM {relation} WHERE 1 = 0", {}, {}).column_names,
            lambda window: self._fetch_where(pipe, window),
            read,
            self._fetch_dtypes(pipe),
        )

    def pipe_fingerprints(self, pipe: Pipe) -> SQLFingerprints:
        """The instance side of a verify: fingerprints of the pipe's table."""
        types = self.get_columns_types(pipe)

        def read(sql: str, params: Mapping[str, Any], dtypes: Mapping[str, str]) -> pa.Table:
            with self.db.session() as s:
                for statement in self.flavor.fingerprint_prelude:
                    s.execute(statement)
                return s.fetch_arrow(sql, params, dtypes)

        return SQLFingerprints(
            self.flavor,
            self._table(pipe),
            lambda: list(types),
            lambda window: self._filter(pipe, window, None, types),
            read,
            types,
        )

    def delete_pipe_rows(self, pipe: Pipe, keys: pa.Table) -> int:
        """Delete the rows whose key columns equal a row of ``keys`` (staged, one statement)."""
        if not keys.num_rows:
            return 0
        with self._locked(pipe) as s:
            types = self._columns_types(s, pipe)
            names = keys.column_names
            stage = s.stage(keys, {k: types[k] for k in names}, names)
            nullable = [k for k in names if keys.column(k).null_count]
            return s.execute(self.flavor.delete_matching(self._table(pipe), stage, names, nullable))

    def _reference_table(self, ref: PipeReference) -> str:
        from mrsm_jupyter.pipes.pipe import Pipe  # noqa: PLC0415 (pipes import connectors)

        other = Pipe(*ref.keys, instance=ref.instance or self.keys)
        return self.flavor.table(other.target, other.parameters.get("schema"))

    # Maintenance.
    def clear_pipe(self, pipe: Pipe, window: Window, params: Params | None) -> int:
        with self._locked(pipe) as s:
            types = self._columns_types(s, pipe)
            if not types:
                return 0
            where, bound = self._filter(pipe, window, params, types)
            return s.execute(self.flavor.delete(self._table(pipe), where), bound)

    def drop_pipe(self, pipe: Pipe) -> None:
        with self._locked(pipe) as s:
            s.execute(self.flavor.drop_table(self._table(pipe)))

    def deduplicate_pipe(self, pipe: Pipe) -> int:
        keys = pipe.key_columns
        if not keys:
            raise PipeError(
                pipe,
                "has no key columns, so rows cannot be told apart.",
                "Set columns={'datetime': ..., 'id': ...} first.",
            )
        with self._locked(pipe) as s:
            types = self._columns_types(s, pipe)
            if not types:
                return 0
            table = self._table(pipe)
            count = f"SELECT COUNT(*) FROM {table}"
            before = int(s.fetchall(count)[0][0])
            temp = self.flavor.temporary_name(
                f"mrsm_dedup_{pipe.target}"[: self.flavor.max_identifier_length - 1]
            )
            for statement in self.flavor.deduplicate(table, temp, keys, list(types)):
                s.execute(statement)
            return before - int(s.fetchall(count)[0][0])

    # Diagnostics.
    def record_run(self, run: RunRecord) -> None:
        """One INSERT into ``mrsm_runs`` (created on first use)."""
        self._runs.record(run)

    def read_runs(self, window: Window, kinds: Sequence[str] | None, limit: int | None) -> pa.Table:
        return self._runs.read(window, kinds, limit)

    def close(self) -> None:
        self.db.close()


__all__ = ["PIPES_TABLE", "SQLConnector"]
