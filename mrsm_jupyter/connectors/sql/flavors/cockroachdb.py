"""CockroachDB: PostgreSQL's SQL without advisory locks. Covered by golden SQL only (no server here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from mrsm_jupyter.connectors.sql.flavors.base import Query
from mrsm_jupyter.connectors.sql.flavors.postgresql import PostgreSQLFlavor


class CockroachDBFlavor(PostgreSQLFlavor):
    name: ClassVar[str] = "cockroachdb"
    max_identifier_length: ClassVar[int] = 128
    # Its commits are replicated by consensus: there is no synchronous_commit to relax.
    run_record_prelude: ClassVar[tuple[str, ...]] = ()
    fingerprint_prelude: ClassVar[tuple[str, ...]] = ()  # no JIT to turn off

    def lock_pipe(self, key: int) -> Query | None:
        # No advisory locks: writers on one machine share a lock file; across machines
        # CockroachDB's serializable transactions make the second writer retry.
        return None

    def widen_column(
        self,
        table: str,
        table_name: str,
        column: str,
        dtype: str,
        columns: Mapping[str, str],
        keys: Sequence[str],
    ) -> list[str]:
        # Type changes that rewrite data are experimental in CockroachDB and need opting in.
        return [
            "SET enable_experimental_alter_column_type_general = true",
            *super().widen_column(table, table_name, column, dtype, columns, keys),
        ]

    pipes_id_column: ClassVar[str] = "pipe_id INT8 PRIMARY KEY DEFAULT unique_rowid()"
