"""``"type:label"`` -> connector. Built in: ``sql:local`` (a DuckDB file in the root) and
``sql:memory``; the rest come from config and ``MRSM_<TYPE>_<LABEL>`` variables."""

from __future__ import annotations

import atexit
import difflib
import os
import threading
from collections.abc import Callable
from typing import Any

from mrsm_jupyter.config import connector_attributes, root_dir
from mrsm_jupyter.connectors.instance import InstanceConnector
from mrsm_jupyter.errors import ConnectorError, InvalidKeysError

DEFAULT_INSTANCE = "sql:local"
BUILTIN_CONNECTORS = ("sql:local", "sql:memory")
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()
# Connector types and how to build one from its label and attributes.
_BUILDERS: dict[str, Callable[[str, dict[str, Any]], Any]] = {}
# Types whose connectors need no definition in config (``plugin:<name>``).
_NEED_NO_ATTRIBUTES: set[str] = set()


def make_connector(
    type_: str, *, needs_attributes: bool = True
) -> Callable[[Callable[[str, dict[str, Any]], Any]], Callable[[str, dict[str, Any]], Any]]:
    """Register a builder for connectors of ``type_`` (plugins add their own types this way).
    With ``needs_attributes=False``, ``"type:label"`` works without a definition in config."""

    def decorate(builder: Callable[[str, dict[str, Any]], Any]) -> Callable[[str, dict[str, Any]], Any]:
        _BUILDERS[type_] = builder
        if needs_attributes:
            _NEED_NO_ATTRIBUTES.discard(type_)
        else:
            _NEED_NO_ATTRIBUTES.add(type_)
        return builder

    return decorate


def _sql_uri(label: str, attrs: dict[str, Any]) -> str:
    if "uri" in attrs:
        return str(attrs["uri"])
    if "flavor" not in attrs:
        raise ConnectorError(f"sql:{label} needs a 'uri' or a 'flavor' (with host, database, ...).")
    import sqlalchemy as sa  # noqa: PLC0415

    if attrs["flavor"] in ("duckdb", "sqlite"):
        return f"{attrs['flavor']}:///{attrs.get('database', '')}"
    url = sa.URL.create(
        attrs["flavor"],
        username=attrs.get("username"),
        password=attrs.get("password"),
        host=attrs.get("host"),
        port=attrs.get("port"),
        database=attrs.get("database"),
    )
    return url.render_as_string(hide_password=False)


@make_connector("sql")
def _build_sql(label: str, attrs: dict[str, Any]) -> InstanceConnector:
    from mrsm_jupyter.connectors.sql.connector import SQLConnector  # noqa: PLC0415

    if label == "local" and "uri" not in attrs and "flavor" not in attrs:
        return SQLConnector(label, f"duckdb:///{root_dir() / 'local.duckdb'}")
    if label == "memory" and not attrs:
        return SQLConnector(label, "duckdb:///:memory:")
    return SQLConnector(label, _sql_uri(label, attrs))


@make_connector("api")
def _build_api(label: str, attrs: dict[str, Any]) -> InstanceConnector:
    from mrsm_jupyter.connectors.api import APIConnector  # noqa: PLC0415 (imports httpx)

    return APIConnector(label, attrs)


@make_connector("influxdb")
def _build_influxdb(label: str, attrs: dict[str, Any]) -> InstanceConnector:
    from mrsm_jupyter.connectors.influxdb.connector import InfluxDBConnector  # noqa: PLC0415 (imports pyarrow)

    return InfluxDBConnector(label, attrs)


def parse_keys(keys: str) -> tuple[str, str]:
    if not isinstance(keys, str) or ":" not in keys:
        raise InvalidKeysError(f"Connector keys {keys!r} must look like 'type:label', e.g. 'sql:local'.")
    typ, label = keys.split(":", 1)
    if not typ or not label:
        raise InvalidKeysError(f"Connector keys {keys!r} must look like 'type:label', e.g. 'sql:local'.")
    return typ.lower(), label


def _load_plugin_types(typ: str) -> None:
    """Let plugins register their connector types (once per plugins directory)."""
    if typ in _BUILDERS:
        return
    # The plugins package imports this registry, so it is imported only when needed.
    from mrsm_jupyter.plugins.manager import plugin_manager  # noqa: PLC0415

    plugin_manager()


def definition_free_connector(keys: str) -> Any | None:
    """The connector for ``keys`` if its type needs no definition (``plugin:<name>``), else
    ``None``: such connectors are cheap to build (no database is opened)."""
    typ = parse_keys(keys)[0]
    _load_plugin_types(typ)
    return get_connector(keys) if typ in _NEED_NO_ATTRIBUTES else None


def get_connector(keys: str | None = None) -> Any:
    """The connector for ``"type:label"`` (one object per keys, reused).

    >>> get_connector("sql:memory")
    SQLConnector('sql:memory', 'duckdb (in memory)')
    """
    keys = keys or DEFAULT_INSTANCE
    if keys not in _cache:
        _load_plugin_types(parse_keys(keys)[0])
    with _cache_lock:
        if keys in _cache:
            return _cache[keys]
        typ, label = parse_keys(keys)
        configured = connector_attributes()
        attrs = configured.get(f"{typ}:{label.lower()}", configured.get(keys, {}))
        builtin = keys in ("sql:local", "sql:memory") or typ in _NEED_NO_ATTRIBUTES
        if typ not in _BUILDERS or (not attrs and not builtin):
            known = sorted(set(configured) | {"sql:local", "sql:memory"})
            close = difflib.get_close_matches(keys, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(known)}."
            raise ConnectorError(
                f"No connector {keys!r}.{hint} Define it with MRSM_{typ.upper()}_{label.upper()}=<uri>."
            )
        connector = _cache[keys] = _BUILDERS[typ](label, attrs)
        return connector


def connector_types() -> list[str]:
    """Types a connector can be built for (``sql``, ``api``, ``influxdb`` and plugins' own)."""
    return sorted(_BUILDERS)


def known_connectors() -> list[str]:
    """Keys of the built-in and configured connectors."""
    return sorted({*BUILTIN_CONNECTORS, *connector_attributes()})


def define_connector(keys: str, uri: str) -> Any:
    """Define a new connector for this process, as ``MRSM_<TYPE>_<LABEL>=<uri>`` would, and build it.

    >>> define_connector("sql:scratch", "duckdb:///:memory:")  # doctest: +SKIP
    SQLConnector('sql:scratch', 'duckdb (in memory)')
    """
    typ, label = parse_keys(keys)
    if typ not in _BUILDERS:
        raise ConnectorError(f"No connector type {typ!r}. Known types: {', '.join(connector_types())}.")
    if f"{typ}:{label.lower()}" in known_connectors():
        raise ConnectorError(f"{keys} is already defined; pick another label.")
    variable = f"MRSM_{typ.upper()}_{label.upper()}"
    os.environ[variable] = uri
    try:
        return get_connector(f"{typ}:{label.lower()}")
    except Exception:
        del os.environ[variable]
        raise


def clear_connector_cache() -> None:
    """Forget built connectors (closing them), e.g. after changing environment variables."""
    with _cache_lock:
        for connector in _cache.values():
            close = getattr(connector, "close", None)
            if close:
                close()
        _cache.clear()


# Close connections before the interpreter tears DuckDB down (else it reports leaked objects).
atexit.register(clear_connector_cache)
