"""Fingerprints in SQL: the same integers from every flavor for the same values.

The hash of a row is a residue modulo the prime ``M = 2**31 - 1``::

    h = 0;  for each column, sorted by name:  h = (h * A + value) mod M
    row hash = h' * (h' + C) mod M,  h' = h made non-negative

where ``value`` is the column's canonical integer (a fixed code for NULL):

======================  ==========================================================
int                     the value mod M
bool                    1 or 0
float, numeric          floor(x * 10**6 + 0.5): compared to 6 decimals (|x| < 10**12;
                        larger values to the nearest 10**6, clamped to ±9e18)
datetime                microseconds since 1970-01-01 UTC (naive values are UTC)
date                    days since 1970-01-01
str, json, uuid, bytes  the first 32 bits of the MD5 of the UTF-8 text (or the bytes)
======================  ==========================================================

Every step is integer arithmetic that fits a BIGINT, so no engine rounds differently.
(An MD5 of the row's text, the obvious canonical form, costs 15x more in DuckDB: 1.5 s
per million rows against 0.1 s, more than re-reading the rows.) The product in the last
step makes the hash non-linear, so changes in two rows do not cancel in a sum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query
from mrsm_jupyter.connectors.sql.flavors.duckdb import DuckDBFlavor
from mrsm_jupyter.pipes.bounds import Window
from mrsm_jupyter.pipes.fingerprint import Fingerprint, FingerprintSpec, Grid, leaves_table

MODULUS = 2_147_483_647
MULTIPLIER = 1_000_003
MIX_OFFSET = 7_919
NULL_CODE = 1_999_999_973
FLOAT_SCALE = "1000000.0"
FLOAT_EXACT_LIMIT = "1000000000000.0"
FLOAT_CLAMP = "9000000000000000000.0"
# Added to large floats' values so that they never meet small floats' values.
LARGE_FLOAT_OFFSET = 1_000_000_007
# Key buckets the summary marks as used (bits of a positive BIGINT).
KEY_BITS = 62
COUNT_DTYPES = {"mrsm_n": "int", "mrsm_sum": "int", "mrsm_low": "int", "mrsm_high": "int", "mrsm_keys": "int"}
LEAF_DTYPES = {"mrsm_leaf": "int", "mrsm_n": "int", "mrsm_sum": "int"}
Reader = Callable[[str, Mapping[str, Any], Mapping[str, str]], pa.Table]


def canonical_value(flavor: Flavor, column: str, dtype: str) -> str:
    """SQL for the canonical integer of a (quoted) column of a canonical dtype."""
    if dtype == "int":
        return flavor.modulo(column, str(MODULUS))
    if dtype == "bool":
        return flavor.bool_int(column)
    if dtype in ("float", "numeric"):
        return _canonical_float(flavor, flavor.double(column) if dtype == "numeric" else column)
    if dtype in ("datetime", "datetime_naive"):
        return flavor.epoch_us(column)
    if dtype == "date":
        return flavor.epoch_days(column)
    return flavor.md5_int32(column, binary=dtype == "bytes")


def _canonical_float(flavor: Flavor, x: str) -> str:
    small = flavor.floor_bigint(f"{x} * {FLOAT_SCALE} + 0.5")
    clamped = flavor.clamp(f"{x} / {FLOAT_SCALE}", f"-{FLOAT_CLAMP}", FLOAT_CLAMP)
    large = f"{flavor.modulo(flavor.floor_bigint(f'{clamped} + 0.5'), str(MODULUS))} + {LARGE_FLOAT_OFFSET}"
    return (
        f"CASE WHEN {x} IS NULL THEN NULL WHEN {x} > -{FLOAT_EXACT_LIMIT} AND {x} < {FLOAT_EXACT_LIMIT} "
        f"THEN {small} ELSE {large} END"
    )


def mixed(flavor: Flavor, spec: FingerprintSpec, columns: Sequence[str]) -> str:
    """The non-negative residue ``h'`` of ``columns`` (the whole row, or only its keys)."""
    # BIGINT from the start: literals alone are 32-bit in PostgreSQL and DuckDB.
    h, modulus = flavor.bigint("0"), flavor.bigint(str(MODULUS))
    dtypes = spec.dtypes
    for name in columns:
        value = canonical_value(flavor, flavor.quote(name), dtypes[name])
        h = flavor.modulo(f"{h} * {MULTIPLIER} + COALESCE({value}, {NULL_CODE})", modulus)
    return flavor.modulo(f"{h} + {modulus}", modulus)


def finalized(flavor: Flavor, residue: str) -> str:
    return flavor.modulo(f"{residue} * ({residue} + {MIX_OFFSET})", flavor.bigint(str(MODULUS)))


def axis_value(flavor: Flavor, spec: FingerprintSpec) -> str:
    """The datetime column on the grid's axis: epoch microseconds, the integer, or 0."""
    if spec.axis is None or spec.datetime_column is None:
        return "0"
    column = flavor.quote(spec.datetime_column)
    return flavor.epoch_us(column) if spec.axis == "datetime" else column


def key_hash(flavor: Flavor, spec: FingerprintSpec) -> str:
    return finalized(flavor, mixed(flavor, spec, spec.key_columns)) if spec.key_columns else "0"


def leaf_of(flavor: Flavor, grid: Grid, axis: str, key: str) -> str:
    """The leaf id of a row from its axis value and key hash (SQL expressions)."""
    slot = flavor.int_div(f"{axis} - {int(grid.origin)}", str(int(grid.width)))
    return f"({slot} * {int(grid.buckets)} + {flavor.modulo(key, str(int(grid.buckets)))})"


def _hashed_rows(flavor: Flavor, relation: str, where: str, spec: FingerprintSpec) -> str:
    """Each row's residue, axis value and key hash: a derived table the outer query reads."""
    residue = mixed(flavor, spec, [name for name, _ in spec.columns])
    return flavor.fence(
        f"SELECT {residue} AS mrsm_h, {axis_value(flavor, spec)} AS mrsm_t, "
        f"{key_hash(flavor, spec)} AS mrsm_k FROM {relation}{where}"
    )


def summary_sql(flavor: Flavor, relation: str, where: str, spec: FingerprintSpec) -> str:
    """Row count, hash sum and axis extremes of the rows of ``relation`` matching ``where``,
    and which of ``KEY_BITS`` key buckets hold rows (a bit each: how spread the keys are)."""
    total = flavor.bigint(f"COALESCE(SUM({finalized(flavor, 'mrsm_h')}), 0)")
    bits = flavor.bit_or(flavor.power_of_two(flavor.modulo("mrsm_k", str(KEY_BITS))))
    return (
        f"SELECT {flavor.bigint('COUNT(*)')} AS mrsm_n, {total} AS mrsm_sum, MIN(mrsm_t) AS mrsm_low, "
        f"MAX(mrsm_t) AS mrsm_high, {flavor.bigint(bits)} AS mrsm_keys "
        f"FROM ({_hashed_rows(flavor, relation, where, spec)}) AS mrsm_fp"
    )


def leaves_sql(flavor: Flavor, relation: str, where: str, spec: FingerprintSpec, grid: Grid) -> str:
    """One row per non-empty leaf: its id, row count and hash sum."""
    leaf = leaf_of(flavor, grid, "mrsm_t", "mrsm_k")
    total = flavor.bigint(f"SUM({finalized(flavor, 'mrsm_h')})")
    return (
        f"SELECT {leaf} AS mrsm_leaf, {flavor.bigint('COUNT(*)')} AS mrsm_n, {total} AS mrsm_sum "
        f"FROM ({_hashed_rows(flavor, relation, where, spec)}) AS mrsm_fp GROUP BY {leaf}"
    )


def rows_sql(
    flavor: Flavor,
    relation: str,
    where: str,
    spec: FingerprintSpec,
    grid: Grid | None,
    leaves: Sequence[int] | None,
    columns: Sequence[str] | None,
) -> str:
    """The rows of ``relation`` matching ``where``, only in ``leaves`` when given."""
    selected = ", ".join(flavor.quote(c) for c in columns) if columns else "*"
    sql = f"SELECT {selected} FROM {relation}{where}"
    if grid is None or leaves is None:
        return sql
    leaf = leaf_of(flavor, grid, axis_value(flavor, spec), key_hash(flavor, spec))
    ids = ", ".join(str(int(i)) for i in leaves)
    return f"{sql}{' AND' if where else ' WHERE'} {leaf} IN ({ids})"


class SQLFingerprints:
    """One side of a verify answered by SQL: a pipe's table, or a source's fetch definition.

    ``relation`` is what follows FROM; ``where`` renders a window's WHERE clause with its
    bound values; ``read`` runs a query into Arrow given the result's dtypes.
    """

    def __init__(
        self,
        flavor: Flavor,
        relation: str,
        columns: Callable[[], list[str]],
        where: Callable[[Window], Query],
        read: Reader,
        row_dtypes: Mapping[str, str],
    ) -> None:
        self.flavor = flavor
        self.relation = relation
        self._columns = columns
        self._where = where
        self._read = read
        self._row_dtypes = row_dtypes
        self._names: list[str] | None = None
        self.bytes_read = 0

    def column_names(self, window: Window) -> list[str]:
        if self._names is None:
            self._names = self._columns()
        return self._names

    def summary(self, window: Window, spec: FingerprintSpec) -> Fingerprint:
        where, bound = self._where(window)
        table = self._read(summary_sql(self.flavor, self.relation, where, spec), bound, COUNT_DTYPES)
        row = {name: table.column(name)[0].as_py() for name in table.column_names}
        rows, total = int(row["mrsm_n"] or 0), int(row["mrsm_sum"] or 0)
        spread = int(row["mrsm_keys"] or 0).bit_count()
        return Fingerprint(rows, total, row["mrsm_low"], row["mrsm_high"], spread)

    def leaves(self, window: Window, spec: FingerprintSpec, grid: Grid) -> pa.Table:
        where, bound = self._where(window)
        return leaves_table(
            self._read(leaves_sql(self.flavor, self.relation, where, spec, grid), bound, LEAF_DTYPES)
        )

    def rows(
        self,
        window: Window,
        spec: FingerprintSpec,
        grid: Grid | None,
        leaves: Sequence[int] | None,
        columns: Sequence[str] | None,
    ) -> pa.Table:
        where, bound = self._where(window)
        sql = rows_sql(self.flavor, self.relation, where, spec, grid, leaves, columns)
        dtypes = {c: d for c, d in self._row_dtypes.items() if not columns or c in columns}
        table = self._read(sql, bound, dtypes)
        self.bytes_read += table.nbytes
        return table


def _covers(outer: Window | None, inner: Window) -> bool:
    if outer is None:
        return False
    begins = outer.begin is None or (inner.begin is not None and outer.begin <= inner.begin)  # type: ignore[operator]
    ends = outer.end is None or (inner.end is not None and inner.end <= outer.end)  # type: ignore[operator]
    return begins and ends


class ArrowFingerprints:
    """One side of a verify answered in this process: rows loaded a window at a time (from a
    plugin's fetch, or from an instance that runs no SQL) and fingerprinted by an in-memory
    DuckDB with the same SQL as the databases, so both sides still compare."""

    def __init__(self, load: Callable[[Window], pa.Table], datetime_column: str | None) -> None:
        self._load = load
        self._datetime_column = datetime_column
        self._window: Window | None = None
        self._table = pa.table({})
        self._con = duckdb.connect()
        # Naive datetimes compare with aware bounds in the session's zone: make it UTC.
        self._con.execute("SET TimeZone = 'UTC'")
        self.flavor = DuckDBFlavor()
        self.bytes_read = 0

    def _loaded(self, window: Window) -> pa.Table:
        """The rows of ``window``, loaded once for every question about it or a part of it."""
        if not _covers(self._window, window):
            self._table = self._load(window)
            self._window = window
            self.bytes_read += self._table.nbytes
            self._con.register("mrsm_rows", self._table)
        return self._table

    def _sql(self, window: Window, spec: FingerprintSpec | None) -> SQLFingerprints | None:
        """SQL over the loaded rows; None when they lack a column the question needs (no rows)."""
        table = self._loaded(window)
        needed = [name for name, _ in spec.columns] if spec is not None else []
        if any(name not in table.column_names for name in needed) or table.num_columns == 0:
            return None
        dt = self._datetime_column if self._datetime_column in table.column_names else None

        def where(part: Window) -> Query:
            return self.flavor.where(dt, part.begin, part.end, None, {})

        def read(sql: str, params: Mapping[str, Any], dtypes: Mapping[str, str]) -> pa.Table:
            return self._con.sql(sql, params=dict(params) or None).to_arrow_table()

        return SQLFingerprints(self.flavor, '"mrsm_rows"', lambda: table.column_names, where, read, {})

    def column_names(self, window: Window) -> list[str]:
        return list(self._loaded(window).column_names)

    def summary(self, window: Window, spec: FingerprintSpec) -> Fingerprint:
        sql = self._sql(window, spec)
        return Fingerprint(0, 0) if sql is None else sql.summary(window, spec)

    def leaves(self, window: Window, spec: FingerprintSpec, grid: Grid) -> pa.Table:
        sql = self._sql(window, spec)
        return leaves_table() if sql is None else sql.leaves(window, spec, grid)

    def rows(
        self,
        window: Window,
        spec: FingerprintSpec,
        grid: Grid | None,
        leaves: Sequence[int] | None,
        columns: Sequence[str] | None,
    ) -> pa.Table:
        sql = self._sql(window, spec if grid is not None else None)
        return pa.table({}) if sql is None else sql.rows(window, spec, grid, leaves, columns)
