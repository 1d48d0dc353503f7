"""SQL flavors: each a small class overriding only what differs from :class:`Flavor`."""

from __future__ import annotations

from mrsm_jupyter.connectors.sql.flavors.base import Flavor
from mrsm_jupyter.connectors.sql.flavors.cockroachdb import CockroachDBFlavor
from mrsm_jupyter.connectors.sql.flavors.duckdb import DuckDBFlavor
from mrsm_jupyter.connectors.sql.flavors.mssql import MSSQLFlavor
from mrsm_jupyter.connectors.sql.flavors.mysql import MySQLFlavor
from mrsm_jupyter.connectors.sql.flavors.postgresql import PostgreSQLFlavor
from mrsm_jupyter.connectors.sql.flavors.sqlite import SQLiteFlavor
from mrsm_jupyter.errors import ConnectorError

FLAVORS: dict[str, type[Flavor]] = {
    "duckdb": DuckDBFlavor,
    "sqlite": SQLiteFlavor,
    "postgresql": PostgreSQLFlavor,
    "mysql": MySQLFlavor,
    "mariadb": MySQLFlavor,
    "mssql": MSSQLFlavor,
    "cockroachdb": CockroachDBFlavor,
}
# URI schemes Meerschaum users write, mapped to our flavors.
SCHEME_ALIASES = {"postgres": "postgresql", "timescaledb": "postgresql", "citus": "postgresql"}


def flavor_for_uri(uri: str) -> Flavor:
    """The flavor of a SQLAlchemy-style URI (``postgresql+psycopg://...`` -> PostgreSQL)."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower()
    scheme = SCHEME_ALIASES.get(scheme, scheme)
    if scheme not in FLAVORS:
        import difflib  # noqa: PLC0415

        close = difflib.get_close_matches(scheme, FLAVORS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(FLAVORS)}."
        raise ConnectorError(f"Unknown SQL flavor {scheme!r} in a connector URI.{hint}")
    return FLAVORS[scheme]()


__all__ = ["FLAVORS", "Flavor", "flavor_for_uri"]
