"""Same-database sync: when a SQL source pipe's source and instance are one database, the
fetch definition's rows go from its SELECT into the pipe's table without leaving it.

The rows of ``[begin, end)`` are staged in a temporary table of the pipe's own column types
(``INSERT ... SELECT`` from the definition), then merged by the statements a batch from
Python gets (``update_changed``, ``insert_new``), in one transaction under the pipe's lock.
Only counts come back. Whatever the table could not take as it is goes through Arrow
instead (``Pipe.sync`` falls back), because there the batch is normalized and the schema
grows:

- the first sync, which creates the table and records its dtypes;
- a column the table lacks, or a key column the source lacks;
- a value with a fraction for an integer column (the column must widen first);
- a key repeated in the window (the Arrow path keeps the last row; SQL has no "last");
- a value the database refuses to cast (the transaction is rolled back first);
- tables Meerschaum partitioned (a partition per interval must exist first).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from mrsm_jupyter.connectors.sql.database import DuckDBDatabase, Session, SQLAlchemyDatabase
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.result import SyncResult

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.sql.connector import SQLConnector
    from mrsm_jupyter.pipes.pipe import Pipe


class _NeedsArrowError(Exception):
    """This window's rows need the Arrow path (the transaction rolls back)."""


def database_location(connector: SQLConnector) -> str | None:
    """What identifies a connector's database (None: one only this connector sees, in memory)."""
    db = connector.db
    if isinstance(db, DuckDBDatabase):
        return None if db.path is None else f"duckdb:{Path(db.path).resolve()}"
    if isinstance(db, SQLAlchemyDatabase):
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            return (
                None if url.database in (None, "", ":memory:") else f"sqlite:{Path(url.database).resolve()}"
            )
        return url.render_as_string(hide_password=True)
    return None


def same_database(source: SQLConnector, instance: object) -> bool:
    from mrsm_jupyter.connectors.sql.connector import SQLConnector  # noqa: PLC0415 (cycle)

    if source is instance:
        return True
    if not isinstance(instance, SQLConnector):
        return False
    location = database_location(source)
    return location is not None and location == database_location(instance)


def sync_in_database(source: SQLConnector, pipe: Pipe, window: Window) -> SyncResult | None:
    """Sync ``[begin, end)`` of the pipe's fetch definition inside the database; None when the
    source is another database or the rows need the Arrow path (see the module's notes)."""
    instance = pipe.instance_connector
    if not same_database(source, instance):
        return None
    assert isinstance(instance, type(source))
    started = time.perf_counter()
    result = SyncResult(str(pipe), batches=1)
    try:
        with instance._locked(pipe) as s:
            _merge_definition(instance, source, s, pipe, window, result)
    except _NeedsArrowError:
        return None
    except instance._database_errors:
        return None  # rolled back; the Arrow path reports the problem or gets past it
    result.duration = time.perf_counter() - started
    return result


def _merge_definition(
    instance: SQLConnector, source: SQLConnector, s: Session, pipe: Pipe, window: Window, result: SyncResult
) -> None:
    flavor = instance.flavor
    types = instance._columns_types(s, pipe)
    table = instance._table(pipe)
    partitioned = flavor.partitioned_query(table)
    if not types or (partitioned is not None and s.fetchall(*partitioned)):
        raise _NeedsArrowError
    relation = source._fetch_relation(pipe)
    names = s.fetch_arrow(f"SELECT * FROM {relation} WHERE 1 = 0", {}, {}).column_names
    keys = [k for k in pipe.key_columns if k in types]
    if not keys or set(names) - set(types) or set(keys) - set(names):
        raise _NeedsArrowError
    utc = flavor.utc_session()
    if utc is not None:
        s.execute(utc)
    where, bound = source._fetch_where(pipe, window)
    columns = [c for c in types if c in names]
    integers = [c for c in columns if types[c] == "int"]
    if integers and _count(s, flavor.count_non_integral(relation, where, integers), bound):
        raise _NeedsArrowError
    stage = flavor.temporary_name(f"mrsm_stage_{uuid.uuid4().hex[:12]}")
    s.execute(flavor.create_stage(stage, {c: types[c] for c in columns}, keys))
    s.execute(flavor.insert_select(stage, columns, relation, where), bound)
    if _count(s, flavor.count_repeated_keys(stage, keys), {}):
        raise _NeedsArrowError  # the rollback drops the stage (MySQL: at the session's end)
    _merge_stage(instance, s, pipe, stage, keys, columns, result)
    s.execute(flavor.drop_table(stage))


def _merge_stage(
    instance: SQLConnector,
    s: Session,
    pipe: Pipe,
    stage: str,
    keys: list[str],
    columns: list[str],
    result: SyncResult,
) -> None:
    """The staged rows merged as a batch from Python would be: changed rows updated, new keys
    inserted, identical rows left alone."""
    flavor, table = instance.flavor, instance._table(pipe)
    staged = _count(s, flavor.count_rows(stage), {})
    nullable = [k for k in keys if _count(s, flavor.count_rows(stage, null_column=k), {})]
    values = [c for c in columns if c not in keys]
    if values:
        result.updated = s.execute(flavor.update_changed(table, stage, keys, values, nullable, pipe.upsert))
    result.inserted = s.execute(flavor.insert_new(table, stage, keys, columns, nullable))
    result.unchanged = staged - result.inserted - result.updated


def _count(s: Session, sql: str, bound: dict[str, object]) -> int:
    return int(s.fetchall(sql, bound)[0][0] or 0)
