"""The shared SQL of every flavor. Subclasses override only what differs.

Identifiers are quoted by SQLAlchemy's identifier preparer of the flavor's dialect; values
are always bound parameters, written in the driver's own paramstyle by :meth:`param`
(statements go to the driver as they are, so ``%`` in names is doubled where the driver
reads ``%(name)s``, and every statement is sent with a parameter dict, even an empty one).
Builders return ``(sql, params)`` or plain SQL when nothing is bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa
from sqlalchemy.engine.interfaces import Dialect

from mrsm_jupyter.connectors.sql.flavors.canonical import CanonicalValues
from mrsm_jupyter.pipes.dtypes import arrow_type

Query = tuple[str, dict[str, Any]]


class Flavor(CanonicalValues):
    """A SQL dialect: its types, its quoting and the statements the engine needs."""

    name: ClassVar[str] = "base"
    # Longest identifier the database keeps without truncating it.
    max_identifier_length: ClassVar[int] = 63
    # Whether two names differing only in case are the same table or column.
    folds_identifier_case: ClassVar[bool] = False
    # Whether reads come back as Arrow with the database's own types (no catalog needed).
    returns_typed_arrow: ClassVar[bool] = False
    # Whether the key columns get an index when the table is created.
    indexes_keys: ClassVar[bool] = True
    # Whether the database is a file on this machine (no server): a local cache gains nothing.
    embedded: ClassVar[bool] = False
    # Whether CREATE and ALTER run inside the transaction (MySQL commits before and after them).
    transactional_ddl: ClassVar[bool] = True
    types: ClassVar[Mapping[str, str]] = {
        "int": "BIGINT",
        "float": "DOUBLE PRECISION",
        "str": "TEXT",
        "bool": "BOOLEAN",
        "datetime": "TIMESTAMP WITH TIME ZONE",
        "datetime_naive": "TIMESTAMP",
        "date": "DATE",
        "numeric": "NUMERIC",
        "json": "TEXT",
        "uuid": "UUID",
        "bytes": "BYTEA",
    }
    # Types of key columns where the general type cannot be indexed (MySQL TEXT).
    key_types: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        self.dialect = self.sqlalchemy_dialect()
        self._preparer = self.dialect.identifier_preparer

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions the flavor's driver raises outside SQLAlchemy (bulk paths)."""
        return ()

    # Dialect, quoting, parameters.
    def sqlalchemy_dialect(self) -> Dialect:
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        # pyformat, as psycopg: the preparer doubles % in names, which the driver undoes.
        dialect: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        return dialect

    def quote(self, name: str) -> str:
        """Quote an identifier; a quote character inside a name can never end it."""
        return str(self._preparer.quote_identifier(name))

    def table(self, name: str, schema: str | None = None) -> str:
        return f"{self.quote(schema)}.{self.quote(name)}" if schema else self.quote(name)

    def param(self, name: str) -> str:
        """A placeholder for a bound value, in the driver's paramstyle (psycopg, PyMySQL)."""
        return f"%({name})s"

    def bind_value(self, value: Any, dtype: str | None) -> Any:
        """A Python value as the driver wants it bound (e.g. SQLite's text datetimes)."""
        return value

    def sql_type(self, dtype: str, is_key: bool = False) -> str:
        return (self.key_types.get(dtype) if is_key else None) or self.types[dtype]

    def dtype_of_sql_type(self, sql_type: str) -> str:
        """Read a catalog type back as a canonical dtype."""
        t = sql_type.upper()
        if ("TIME ZONE" in t and "WITHOUT" not in t) or t in ("TIMESTAMPTZ", "DATETIMEOFFSET"):
            return "datetime"
        if t.startswith(("TIMESTAMP", "DATETIME")):
            return "datetime_naive"
        if t == "DATE":
            return "date"
        if t in ("BOOLEAN", "BOOL", "BIT", "TINYINT(1)"):
            return "bool"
        if "INT" in t:
            return "int"
        if t.startswith(("DOUBLE", "FLOAT", "REAL")):
            return "float"
        if t.startswith(("NUMERIC", "DECIMAL")):
            return "numeric"
        if t.startswith(("JSON",)):
            return "json"
        if t.startswith(("UUID", "UNIQUEIDENTIFIER")):
            return "uuid"
        if "BLOB" in t or "BINARY" in t or t == "BYTEA":
            return "bytes"
        return "str"

    # Catalog.
    def columns_query(self, table: str, schema: str | None) -> Query:
        sql = (
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_name = {self.param('table')}"
        )
        params: dict[str, Any] = {"table": table}
        if schema:
            sql += f" AND table_schema = {self.param('schema')}"
            params["schema"] = schema
        else:
            sql += f" AND table_schema = {self.current_schema_sql()}"
        return sql + " ORDER BY ordinal_position", params

    def current_schema_sql(self) -> str:
        return "current_schema()"

    def tables_like_query(self, table: str) -> Query:
        """Tables whose name equals ``table`` ignoring case (to catch collisions)."""
        return (
            "SELECT table_name FROM information_schema.tables WHERE lower(table_name) = "
            f"lower({self.param('table')}) AND table_schema = {self.current_schema_sql()}",
            {"table": table},
        )

    # DDL.
    def create_table(self, table: str, columns: Mapping[str, str], keys: Sequence[str]) -> list[str]:
        cols = ", ".join(f"{self.quote(c)} {self.sql_type(d, c in keys)}" for c, d in columns.items())
        statements = [f"CREATE TABLE {table} ({cols})"]
        return statements

    def create_key_index(self, table: str, table_name: str, keys: Sequence[str], unique: bool) -> str:
        kind = "UNIQUE INDEX" if unique else "INDEX"
        index = self.quote(self.index_name(table_name, unique))
        cols = ", ".join(self.quote(k) for k in keys)
        return f"CREATE {kind} {index} ON {table} ({cols})"

    def index_name(self, table_name: str, unique: bool) -> str:
        suffix = "_unique" if unique else "_keys"
        return f"IX_{table_name}"[: self.max_identifier_length - len(suffix)] + suffix

    def add_column(self, table: str, column: str, dtype: str) -> list[str]:
        return [f"ALTER TABLE {table} ADD COLUMN {self.quote(column)} {self.sql_type(dtype)}"]

    def widen_column(
        self,
        table: str,
        table_name: str,
        column: str,
        dtype: str,
        columns: Mapping[str, str],
        keys: Sequence[str],
    ) -> list[str]:
        new_type = self.sql_type(dtype, column in keys)
        col = self.quote(column)
        return [f"ALTER TABLE {table} ALTER COLUMN {col} TYPE {new_type} USING {col}::{new_type}"]

    def drop_table(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {table}"

    # Merging a staged batch.
    def key_match(self, left: str, right: str, keys: Sequence[str], nullable: Sequence[str]) -> str:
        """Join condition on the keys; null-safe only where the batch holds nulls (keeps hash joins)."""
        parts = []
        for k in keys:
            a, b = f"{left}.{self.quote(k)}", f"{right}.{self.quote(k)}"
            parts.append(self.not_distinct(a, b) if k in nullable else f"{a} = {b}")
        return " AND ".join(parts)

    def not_distinct(self, a: str, b: str) -> str:
        return f"{a} IS NOT DISTINCT FROM {b}"

    def distinct(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM {b}"

    def changed(self, left: str, right: str, values: Sequence[str]) -> str:
        return (
            "("
            + " OR ".join(
                self.distinct(f"{left}.{self.quote(v)}", f"{right}.{self.quote(v)}") for v in values
            )
            + ")"
        )

    def update_changed(
        self,
        table: str,
        stage: str,
        keys: Sequence[str],
        values: Sequence[str],
        nullable: Sequence[str],
        upsert: bool,
    ) -> str:
        """Update rows whose key exists and whose values differ (all matched rows if upsert)."""
        sets = ", ".join(f"{self.quote(v)} = s.{self.quote(v)}" for v in values)
        where = self.key_match("t", "s", keys, nullable)
        if not upsert:
            where += " AND " + self.changed("t", "s", values)
        return f"UPDATE {table} AS t SET {sets} FROM {stage} AS s WHERE {where}"

    def merge(
        self,
        table: str,
        stage: str,
        keys: Sequence[str],
        columns: Sequence[str],
        nullable: Sequence[str],
        upsert: bool,
    ) -> str | None:
        """One statement merging the stage that returns one ``merge_action`` row per changed
        row ('INSERT' or 'UPDATE'); None where the flavor has none (then: update, then insert)."""
        return None

    def insert_new(
        self, table: str, stage: str, keys: Sequence[str], columns: Sequence[str], nullable: Sequence[str]
    ) -> str:
        cols = ", ".join(self.quote(c) for c in columns)
        s_cols = ", ".join(f"s.{self.quote(c)}" for c in columns)
        match = self.key_match("t", "s", keys, nullable)
        return (
            f"INSERT INTO {table} ({cols}) SELECT {s_cols} FROM {stage} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {match})"
        )

    def insert_all(self, table: str, stage: str, columns: Sequence[str]) -> str:
        cols = ", ".join(self.quote(c) for c in columns)
        return f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}"

    # Same-database sync: a fetch definition's rows staged without leaving the database.
    def insert_select(self, table: str, columns: Sequence[str], relation: str, where: str) -> str:
        """Copy ``columns`` of the rows of ``relation`` matching ``where`` into ``table`` (the
        database casts them to the table's types)."""
        cols = ", ".join(self.quote(c) for c in columns)
        return f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {relation}{where}"

    def count_non_integral(self, relation: str, where: str, columns: Sequence[str]) -> str:
        """How many rows hold a value with a fraction in one of ``columns`` (an integer column
        would round it: the table must widen first)."""
        test = " OR ".join(f"{self.quote(c)} <> {self.bigint(self.quote(c))}" for c in columns)
        return f"SELECT COUNT(*) FROM {relation}{where}{' AND' if where else ' WHERE'} ({test})"

    def count_repeated_keys(self, table: str, keys: Sequence[str]) -> str:
        """How many keys appear on more than one row of ``table``."""
        cols = ", ".join(self.quote(k) for k in keys)
        return (
            f"SELECT COUNT(*) FROM (SELECT {cols} FROM {table} GROUP BY {cols} "
            "HAVING COUNT(*) > 1) AS mrsm_repeated"
        )

    def count_rows(self, table: str, null_column: str | None = None) -> str:
        """Rows of ``table`` (only those where ``null_column`` is NULL, when given)."""
        where = "" if null_column is None else f" WHERE {self.quote(null_column)} IS NULL"
        return f"SELECT COUNT(*) FROM {table}{where}"

    def utc_session(self) -> str | None:
        """A statement making naive datetimes UTC for the rest of the transaction, where the
        database would otherwise read them in the session's zone."""
        return None

    # Reading and deleting.
    def where(
        self,
        datetime_column: str | None,
        begin: Any,
        end: Any,
        params: Mapping[str, Any] | None,
        dtypes: Mapping[str, str],
    ) -> Query:
        """The WHERE clause of a half-open window ``[begin, end)`` and the params grammar.

        Grammar: scalar ``=``, list ``IN``, ``"_x"`` ``!=``, ``["_a", "_b"]`` ``NOT IN``,
        ``None`` ``IS NULL``, ``"_None"`` ``IS NOT NULL``.
        """
        clauses: list[str] = []
        bound: dict[str, Any] = {}
        if datetime_column is not None:
            dt = self.quote(datetime_column)
            dtype = dtypes.get(datetime_column)
            if begin is not None:
                clauses.append(f"{dt} >= {self.param('begin')}")
                bound["begin"] = self.bind_value(begin, dtype)
            if end is not None:
                clauses.append(f"{dt} < {self.param('end')}")
                bound["end"] = self.bind_value(end, dtype)
        for i, (column, value) in enumerate((params or {}).items()):
            clause, values = self._param_clause(self.quote(column), value, f"p{i}", dtypes.get(column))
            clauses.append(clause)
            bound.update(values)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", bound

    def _param_clause(self, col: str, value: Any, name: str, dtype: str | None) -> Query:
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        plain = [v for v in values if not (isinstance(v, str) and v.startswith("_"))]
        negated = [v[1:] for v in values if isinstance(v, str) and v.startswith("_")]
        bound: dict[str, Any] = {}

        def group(group_values: list[Any], op_in: str, op_null: str, joiner: str, tag: str) -> str:
            real = [v for v in group_values if v is not None and v != "None"]
            parts = [f"{col} {op_null}"] if len(real) < len(group_values) else []
            if real:
                names = [f"{name}_{tag}{j}" for j in range(len(real))]
                parts.append(f"{col} {op_in} ({', '.join(self.param(n) for n in names)})")
                bound.update({n: self.bind_value(v, dtype) for n, v in zip(names, real, strict=True)})
            return "(" + joiner.join(parts) + ")" if parts else ""

        pieces = [
            group(plain, "IN", "IS NULL", " OR ", "in"),
            group(negated, "NOT IN", "IS NOT NULL", " AND ", "out"),
        ]
        return " AND ".join(p for p in pieces if p) or "1 = 1", bound

    def select(
        self,
        table: str,
        columns: Sequence[str] | None,
        where: str,
        order_by: Sequence[str],
        descending: bool,
        limit: int | None,
    ) -> str:
        cols = ", ".join(self.quote(c) for c in columns) if columns else "*"
        sql = f"SELECT {cols} FROM {table}{where}"
        if order_by:
            direction = " DESC" if descending else " ASC"
            sql += " ORDER BY " + ", ".join(self.quote(c) + direction for c in order_by)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql

    def aggregate(self, table: str, expression: str, where: str) -> str:
        return f"SELECT {expression} FROM {table}{where}"

    def delete(self, table: str, where: str) -> str:
        return f"DELETE FROM {table}{where}"

    def delete_matching(self, table: str, stage: str, keys: Sequence[str], nullable: Sequence[str]) -> str:
        """Delete the rows whose keys equal a staged row's keys."""
        match = self.key_match(table, "s", keys, nullable)
        return f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {stage} AS s WHERE {match})"

    def deduplicate(self, table: str, temp: str, keys: Sequence[str], columns: Sequence[str]) -> list[str]:
        """Keep one row per key: copy the survivors aside, empty the table, put them back."""
        cols = ", ".join(self.quote(c) for c in columns)
        part = ", ".join(self.quote(k) for k in keys)
        return [
            f"CREATE TEMPORARY TABLE {temp} AS SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() "
            f"OVER (PARTITION BY {part} ORDER BY {part}) AS mrsm_rn FROM {table}) AS d WHERE mrsm_rn = 1",
            f"DELETE FROM {table}",
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {temp}",
            f"DROP TABLE {temp}",
        ]

    # Partitions (Meerschaum partitions its PostgreSQL tables by the datetime column).
    def partitioned_query(self, table: str) -> Query | None:
        """A query answering a row when ``table`` is partitioned (None: the flavor never is)."""
        return None

    def create_partition(self, table: str, table_name: str, low: datetime, high: datetime) -> str:
        raise NotImplementedError(f"{self.name} tables are not partitioned")

    # Locks.
    def lock_pipe(self, key: int) -> Query | None:
        """A statement taking the pipe's lock in the database (None: the connector uses a lock file).

        ``key`` is a stable 31-bit number derived from the pipe's keys.
        """
        return None

    def unlock_pipe(self, key: int) -> Query | None:
        """A statement releasing the lock after COMMIT, for locks that outlive transactions."""
        return None

    # Registrations (Meerschaum's ``mrsm_pipes`` layout, so both can share an instance).
    pipes_prelude: ClassVar[tuple[str, ...]] = ()
    pipes_id_column: ClassVar[str] = "pipe_id SERIAL PRIMARY KEY"
    pipes_key_type: ClassVar[str] = "VARCHAR(256)"
    pipes_parameters_type: ClassVar[str] = "JSONB"

    def create_pipes_table(self, table: str) -> list[str]:
        """``mrsm_pipes`` exactly as Meerschaum 4.x lays it out for this flavor."""
        k = self.pipes_key_type
        return [
            *self.pipes_prelude,
            f"CREATE TABLE IF NOT EXISTS {table} ({self.pipes_id_column}, connector_keys {k} NOT NULL, "
            f"metric_key {k} NOT NULL, location_key {k}, parameters {self.pipes_parameters_type})",
        ]

    def insert_registration(self, table: str) -> str:
        p = self.param
        return (
            f"INSERT INTO {table} (connector_keys, metric_key, location_key, parameters) "
            f"VALUES ({p('connector_keys')}, {p('metric_key')}, {p('location_key')}, "
            f"{self.json_param('parameters')})"
        )

    def create_runs_table(self, table: str, table_name: str, columns: Mapping[str, str]) -> list[str]:
        """The run records' table (``mrsm_runs``) and an index on its start time."""
        cols = ", ".join(f"{self.quote(c)} {self.sql_type(d)}" for c, d in columns.items())
        index = self.quote(f"{table_name}_started")
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ({cols})",
            f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({self.quote('started')})",
        ]

    # Statements run before a run record's INSERT, in its transaction: a record may be lost
    # in a crash (it describes a run, it holds no data), so it need not wait for the disk.
    run_record_prelude: ClassVar[tuple[str, ...]] = ()
    # Statements run before a verify's fingerprint queries, in their transaction.
    fingerprint_prelude: ClassVar[tuple[str, ...]] = ()

    def insert_row(self, table: str, columns: Sequence[str]) -> str:
        """One row of bound values (a run record)."""
        names = ", ".join(self.quote(c) for c in columns)
        return f"INSERT INTO {table} ({names}) VALUES ({', '.join(self.param(c) for c in columns)})"

    def json_param(self, name: str) -> str:
        return self.param(name)

    # Staging a batch and reading rows back (for flavors reached through SQLAlchemy).
    dbapi_placeholder: ClassVar[str] = "%s"

    def connect_args(self, driver: str) -> dict[str, Any]:
        """Keyword arguments for the DB-API ``connect()`` of ``driver`` (SQLAlchemy's name)."""
        return {}

    def fetch_arrow_fast(
        self, dbapi_connection: Any, sql: str, params: Mapping[str, Any], dtypes: Mapping[str, str]
    ) -> pa.Table | None:
        """Run a read on the DB-API connection where the driver has a faster way to Arrow
        than SQLAlchemy's rows; None: read through SQLAlchemy instead."""
        return None

    def temporary_name(self, name: str) -> str:
        """A quoted name for a table that lives only as long as the session."""
        return self.quote(name)

    def create_stage(self, stage: str, columns: Mapping[str, str], keys: Sequence[str]) -> str:
        cols = ", ".join(f"{self.quote(c)} {self.sql_type(d, c in keys)}" for c, d in columns.items())
        return f"CREATE TEMPORARY TABLE {stage} ({cols})"

    def stage_rows(self, dbapi_connection: Any, stage: str, batch: pa.Table) -> None:
        """Load a batch into the staging table; flavors override with their bulk path."""
        cols = ", ".join(self.quote(c) for c in batch.column_names)
        marks = ", ".join([self.dbapi_placeholder] * batch.num_columns)
        rows = list(
            zip(*(self.python_values(batch.column(i)) for i in range(batch.num_columns)), strict=True)
        )
        cursor = dbapi_connection.cursor()
        try:
            cursor.executemany(f"INSERT INTO {stage} ({cols}) VALUES ({marks})", rows)
        finally:
            cursor.close()

    def python_values(self, array: pa.ChunkedArray) -> list[Any]:
        """Values of an Arrow column as the driver takes them."""
        return array.to_pylist()  # type: ignore[no-any-return]

    def arrow_column(self, values: Sequence[Any], dtype: str | None) -> pa.Array:
        """Values read through a driver, as an Arrow column of the pipe's dtype."""
        if dtype is None:
            return pa.array(values)
        if dtype == "bool":  # MySQL answers 1/0, Meerschaum's SQLite tables 1.0/0.0
            values = [None if v is None else bool(v) for v in values]
        if dtype in ("json", "uuid", "str"):
            values = [v if v is None or isinstance(v, str) else _to_text(v) for v in values]
        return pa.array(values, type=arrow_type(dtype))


def _to_text(value: Any) -> str:
    import json  # noqa: PLC0415

    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)
