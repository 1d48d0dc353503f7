"""Sessions on a database: DuckDB through its own API, the rest through SQLAlchemy.

A session executes SQL with bound parameters, stages Arrow batches and returns Arrow tables.
``transaction()`` wraps a batch in BEGIN/COMMIT (DuckDB's multi-statement strings are not
one transaction, so every statement runs on its own inside an explicit transaction).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from filelock import FileLock, Timeout

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query
from mrsm_jupyter.connectors.sql.flavors.sqlite import register_fingerprint_functions
from mrsm_jupyter.errors import ConnectorError, ConnectorUnreachableError

DUCKDB_IDLE_SECONDS = float(os.environ.get("MRSM_DUCKDB_IDLE_SECONDS", "1.0"))
LOCK_TIMEOUT_SECONDS = float(os.environ.get("MRSM_LOCK_TIMEOUT", "120"))


class LockError(Exception):
    """A database lock could not be taken in time (turned into a PipeError by the connector)."""


class Session(Protocol):
    """What the SQL connector needs from a database connection."""

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement; return the rows it changed (0 for DDL)."""

    def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def fetch_arrow(
        self, sql: str, params: Mapping[str, Any] | None, dtypes: Mapping[str, str]
    ) -> pa.Table: ...

    def stage(self, batch: pa.Table, dtypes: Mapping[str, str], keys: Sequence[str]) -> str:
        """Make ``batch`` readable in SQL for this transaction; return its quoted name."""

    def load(self, table: str, batch: pa.Table) -> None:
        """Append ``batch`` to ``table`` (quoted) by the fastest bulk path, columns by name."""


class Database(Protocol):
    flavor: Flavor
    description: str
    # True when the file (or its directory) cannot be written: opened for reading only.
    read_only: bool

    def transaction(self, lock: Query | None = None, unlock: Query | None = None) -> Any: ...

    def session(self) -> Any: ...

    def close(self) -> None: ...


class DuckDBSession:
    def __init__(self, con: duckdb.DuckDBPyConnection, flavor: Flavor) -> None:
        self.con = con
        self.flavor = flavor
        self.staged: list[str] = []

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        rows = self.con.execute(sql, dict(params) if params else None).fetchall()
        if rows and len(rows[0]) == 1 and isinstance(rows[0][0], int) and len(rows) == 1:
            return rows[0][0]
        return 0

    def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, dict(params) if params else None).fetchall()

    def fetch_arrow(self, sql: str, params: Mapping[str, Any] | None, dtypes: Mapping[str, str]) -> pa.Table:
        return self.con.sql(sql, params=dict(params) if params else None).to_arrow_table()

    def stage(self, batch: pa.Table, dtypes: Mapping[str, str], keys: Sequence[str]) -> str:
        name = f"mrsm_stage_{uuid.uuid4().hex[:12]}"
        self.con.register(name, batch)
        self.staged.append(name)
        return self.flavor.quote(name)

    def load(self, table: str, batch: pa.Table) -> None:
        staged = self.stage(batch, {}, [])
        cols = ", ".join(self.flavor.quote(c) for c in batch.column_names)
        self.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staged}")

    def unstage(self) -> None:
        for name in self.staged:
            self.con.unregister(name)
        self.staged.clear()


class DuckDBDatabase:
    """One DuckDB database. A file is held open only while in use, plus a short idle time.

    DuckDB lets one process open a file at a time, so other processes (jobs, other kernels)
    wait on a file lock beside the database, and get it as soon as this process goes idle.
    """

    def __init__(self, flavor: Flavor, path: str | None) -> None:
        self.flavor = flavor
        self.path = path
        self.description = f"duckdb:///{path}" if path else "duckdb (in memory)"
        self._lock = threading.RLock()
        self._depth = 0
        self._con: duckdb.DuckDBPyConnection | None = None
        self._file_lock = FileLock(f"{path}.lock", thread_local=False) if path else None
        self._timer: threading.Timer | None = None
        self._last_used = 0.0
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.read_only = bool(path) and not _writable(Path(str(path)))

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self.path is None:
            return duckdb.connect()
        if self.read_only:  # no lock file can be made; DuckDB lets readers share the file
            return duckdb.connect(self.path, read_only=True)
        assert self._file_lock is not None
        try:
            self._file_lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
        except Timeout as exc:
            raise ConnectorError(
                f"{self.path} is held by another process for over {LOCK_TIMEOUT_SECONDS:.0f} s; "
                "stop the job or kernel using it, or raise MRSM_LOCK_TIMEOUT."
            ) from exc
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                return duckdb.connect(self.path)
            except duckdb.IOException as exc:  # held by a program that does not use our lock
                if time.monotonic() > deadline or "lock" not in str(exc).lower():
                    self._file_lock.release()
                    raise ConnectorError(f"Cannot open {self.path}: {exc}") from exc
                time.sleep(0.05)

    def _close_if_idle(self) -> None:
        """Timer callback: close once idle long enough, else look again when it would be."""
        with self._lock:
            self._timer = None
            if self._depth or self._con is None or self.path is None:
                return
            remaining = self._last_used + DUCKDB_IDLE_SECONDS - time.monotonic()
            if remaining > 0:
                self._start_timer(remaining)
                return
            self._con.close()
            self._con = None
            assert self._file_lock is not None
            if self._file_lock.is_locked:
                self._file_lock.release()

    def _start_timer(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._close_if_idle)
        self._timer.daemon = True
        self._timer.start()

    @contextmanager
    def session(self) -> Iterator[DuckDBSession]:
        with self._lock:
            if self._con is None:
                self._con = self._open()
            self._depth += 1
            session = DuckDBSession(self._con, self.flavor)
            try:
                yield session
            finally:
                session.unstage()
                self._depth -= 1
                self._last_used = time.monotonic()
                # One timer per idle spell, not one per session (starting a thread costs ~1 ms).
                if self._depth == 0 and self.path is not None and self._timer is None:
                    self._start_timer(DUCKDB_IDLE_SECONDS)

    @contextmanager
    def transaction(self, lock: Query | None = None, unlock: Query | None = None) -> Iterator[DuckDBSession]:
        # DuckDB has no lock statements: pipes are locked with files by the connector.
        with self.session() as session:
            session.con.execute("BEGIN TRANSACTION")
            try:
                yield session
            except BaseException:
                session.con.execute("ROLLBACK")
                raise
            session.con.execute("COMMIT")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                if self._file_lock is not None and self._file_lock.is_locked:
                    self._file_lock.release()


class SQLAlchemySession:
    """Statements go to the driver as written (``exec_driver_sql``), in the driver's own
    paramstyle: SQLAlchemy's ``text()`` would read ``:x`` inside quoted names as parameters."""

    def __init__(self, conn: sa.Connection, flavor: Flavor) -> None:
        self.conn = conn
        self.flavor = flavor
        self.staged: list[str] = []

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        return int(self.conn.exec_driver_sql(sql, dict(params or {})).rowcount or 0)

    def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.conn.exec_driver_sql(sql, dict(params or {})).fetchall()]

    def fetch_arrow(self, sql: str, params: Mapping[str, Any] | None, dtypes: Mapping[str, str]) -> pa.Table:
        dbapi_connection = self.conn.connection.dbapi_connection
        fast = self.flavor.fetch_arrow_fast(dbapi_connection, sql, dict(params or {}), dtypes)
        if fast is not None:
            return fast
        result = self.conn.exec_driver_sql(sql, dict(params or {}))
        names = list(result.keys())
        rows = result.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        arrays = [
            self.flavor.arrow_column(list(col), dtypes.get(name))
            for name, col in zip(names, columns, strict=True)
        ]
        return pa.table(dict(zip(names, arrays, strict=True))) if names else pa.table({})

    def stage(self, batch: pa.Table, dtypes: Mapping[str, str], keys: Sequence[str]) -> str:
        name = self.flavor.temporary_name(f"mrsm_stage_{uuid.uuid4().hex[:12]}")
        self.conn.exec_driver_sql(self.flavor.create_stage(name, dtypes, keys), {})
        self.flavor.stage_rows(self.conn.connection.dbapi_connection, name, batch)
        self.staged.append(name)
        return name

    def load(self, table: str, batch: pa.Table) -> None:
        self.flavor.stage_rows(self.conn.connection.dbapi_connection, table, batch)

    def unstage(self) -> None:
        for name in self.staged:
            self.conn.exec_driver_sql(f"DROP TABLE {name}", {})
        self.staged.clear()


class SQLAlchemyDatabase:
    def __init__(self, flavor: Flavor, uri: str) -> None:
        self.flavor = flavor
        url = sa.make_url(uri)
        self.read_only = flavor.name == "sqlite" and _sqlite_read_only(url.database)
        if self.read_only:  # WAL needs a writable -shm file; the file cannot change: immutable
            url = url.set(
                database=f"file:{url.database}", query={"mode": "ro", "immutable": "1", "uri": "true"}
            )
        connect_args = flavor.connect_args(url.get_driver_name())
        self.engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        self.description = sa.make_url(uri).render_as_string(hide_password=True)
        if flavor.name == "sqlite" and not self.read_only:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:  # the driver's message names no password
            raise ConnectorUnreachableError(
                f"{self.description}: cannot connect ({type(exc.orig).__name__}: {exc.orig}). "
                "Check that the server is running and the connector's URI."
            ) from exc
        with conn:
            yield conn

    @contextmanager
    def session(self) -> Iterator[SQLAlchemySession]:
        with self._connect() as conn:
            yield SQLAlchemySession(conn, self.flavor)

    @contextmanager
    def transaction(
        self, lock: Query | None = None, unlock: Query | None = None
    ) -> Iterator[SQLAlchemySession]:
        """One transaction; ``lock`` runs first, ``unlock`` after COMMIT or ROLLBACK."""
        with self._connect() as conn:
            session = SQLAlchemySession(conn, self.flavor)
            try:
                if lock is not None:
                    _check_lock(conn.exec_driver_sql(lock[0], lock[1]).scalar())
                yield session
                session.unstage()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                if unlock is not None and not conn.invalidated:
                    conn.exec_driver_sql(unlock[0], unlock[1])
                    conn.commit()

    def close(self) -> None:
        self.engine.dispose()


def _writable(path: Path) -> bool:
    """Whether a database file (or, before it exists, its directory) can be written."""
    return os.access(path if path.exists() else path.parent, os.W_OK) and os.access(path.parent, os.W_OK)


def _sqlite_read_only(database: str | None) -> bool:
    return (
        bool(database)
        and database != ":memory:"
        and Path(str(database)).exists()
        and not _writable(Path(str(database)))
    )


def _check_lock(answer: Any) -> None:
    # MySQL's GET_LOCK answers 0 on timeout; PostgreSQL's advisory locks simply wait.
    if answer == 0:
        raise LockError("another writer held the pipe's lock for too long")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT_SECONDS * 1000)}")
    cursor.close()
    register_fingerprint_functions(dbapi_connection)
