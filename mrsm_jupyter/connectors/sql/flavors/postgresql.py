"""PostgreSQL through SQLAlchemy and psycopg 3 (batches staged with binary COPY)."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa

from mrsm_jupyter.connectors.sql.flavors.base import Flavor, Query
from mrsm_jupyter.pipes.dtypes import dtype_of_arrow

# The first half of a two-part advisory lock key: which application holds the lock.
LOCK_NAMESPACE = zlib.crc32(b"mrsm_jupyter") & 0x7FFFFFFF


class PostgreSQLFlavor(Flavor):
    name: ClassVar[str] = "postgresql"
    types: ClassVar[dict[str, str]] = {**Flavor.types, "json": "JSONB"}

    def lock_pipe(self, key: int) -> Query | None:
        return "SELECT pg_advisory_xact_lock(:namespace, :key)", {"namespace": LOCK_NAMESPACE, "key": key}

    def partitioned_query(self, table: str) -> Query | None:
        return "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:table)", {"table": table}

    def create_partition(self, table: str, table_name: str, low: datetime, high: datetime) -> str:
        # DDL takes no bound parameters; the bounds are datetimes we computed, never user text.
        name = self.quote(f"{table_name}_p_{low:%Y%m%d%H%M%S}"[: self.max_identifier_length])
        return (
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
            f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
        )

    def json_param(self, name: str) -> str:
        return f"CAST({self.param(name)} AS JSONB)"

    # psycopg type names for binary COPY, by dtype.
    copy_types: ClassVar[dict[str, str]] = {
        "int": "int8",
        "float": "float8",
        "str": "text",
        "bool": "bool",
        "datetime": "timestamptz",
        "datetime_naive": "timestamp",
        "date": "date",
        "numeric": "numeric",
        "json": "jsonb",
        "uuid": "uuid",
        "bytes": "bytea",
    }

    def stage_rows(self, dbapi_connection: Any, stage: str, batch: pa.Table) -> None:
        """Binary COPY into the staging table (psycopg 3)."""
        from psycopg.types.json import Jsonb  # noqa: PLC0415

        cols = ", ".join(self.quote(c) for c in batch.column_names)
        dtypes = [dtype_of_arrow(f.type) or "str" for f in batch.schema]
        columns = [self.python_values(batch.column(i)) for i in range(batch.num_columns)]
        for i, dtype in enumerate(dtypes):
            if dtype == "json":
                columns[i] = [None if v is None else Jsonb(v, dumps=_as_is) for v in columns[i]]
        with (
            dbapi_connection.cursor() as cursor,
            cursor.copy(f"COPY {stage} ({cols}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types([self.copy_types[d] for d in dtypes])
            for row in zip(*columns, strict=True):
                copy.write_row(row)


def _as_is(text: str) -> str:
    return text
