"""A small typed client of InfluxDB 1.x's HTTP API: ``/query`` (chunked, bound parameters),
``/write`` (line protocol, nanosecond precision) and ``/ping``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from mrsm_jupyter.connectors.influxdb.influxql import quote
from mrsm_jupyter.errors import ConnectorError, ConnectorUnreachableError

DEFAULT_PORT = 8086
CHUNK_ROWS = 10_000
_SCHEMES = {"influxdb": "http", "http": "http", "influxdbs": "https", "https": "https"}


class InfluxDBError(ConnectorError):
    """InfluxDB refused a query or a write; ``detail`` is its own message."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class Series:
    """One piece of a query's answer: column names and rows of JSON values."""

    name: str
    columns: list[str]
    values: list[list[Any]]


@dataclass(frozen=True)
class Address:
    """Where the server is and which database holds the pipes."""

    base_url: str
    database: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def of(cls, keys: str, attrs: Mapping[str, Any]) -> Address:
        """From ``influxdb://user:pass@host:8086/database`` or attributes (host, port, database...)."""
        uri = str(attrs.get("uri") or "")
        if uri:
            parts = urlsplit(uri)
            scheme = _SCHEMES.get(parts.scheme)
            database = unquote(parts.path.strip("/"))
            if scheme is None or not parts.hostname or not database:
                raise ConnectorError(
                    f"{keys}: cannot use the URI {uri!r}. Write it as influxdb://user:password@host:8086/database."
                )
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            return cls(
                f"{scheme}://{host}:{parts.port or DEFAULT_PORT}",
                database,
                unquote(parts.username) if parts.username else None,
                unquote(parts.password) if parts.password else None,
            )
        if not attrs.get("database"):
            raise ConnectorError(f"{keys} needs a 'uri' or a 'database' (with host, port, username...).")
        scheme = "https" if attrs.get("ssl") else "http"
        return cls(
            f"{scheme}://{attrs.get('host', 'localhost')}:{int(attrs.get('port', DEFAULT_PORT))}",
            str(attrs["database"]),
            attrs.get("username"),
            attrs.get("password"),
        )


class InfluxDBClient:
    """Statements and writes against one database of one server."""

    def __init__(self, keys: str, address: Address, timeout: float = 300.0) -> None:
        self.keys = keys
        self.address = address
        auth = (address.username, address.password or "") if address.username else None
        self._http = httpx.Client(base_url=address.base_url, auth=auth, timeout=timeout)
        self._database_ready = False

    def close(self) -> None:
        self._http.close()

    def _post(
        self, path: str, *, data: Mapping[str, str] | None = None, content: bytes | None = None
    ) -> httpx.Response:
        params = {"db": self.address.database, "precision": "ns"} if path == "/write" else None
        try:
            return self._http.post(path, data=data, content=content, params=params)
        except httpx.TransportError as exc:
            raise ConnectorUnreachableError(
                f"{self.keys}: cannot reach InfluxDB at {self.address.base_url} ({type(exc).__name__}). "
                "Check that influxd runs there and the URI's host and port."
            ) from exc

    def _form(self, statement: str, params: Mapping[str, Any] | None, chunked: bool) -> dict[str, str]:
        form = {"q": statement, "db": self.address.database, "epoch": "ns"}
        if params:
            form["params"] = json.dumps(dict(params))
        if chunked:
            form |= {"chunked": "true", "chunk_size": str(CHUNK_ROWS)}
        return form

    def _refused(self, statement: str, detail: str) -> InfluxDBError:
        return InfluxDBError(
            f"{self.keys}: InfluxDB refused {statement[:200]!r}: {detail}. "
            "Check the names and the server's log.",
            detail,
        )

    def query(self, statement: str, params: Mapping[str, Any] | None = None) -> list[Series]:
        """Run one or more statements (``;``-separated); every series of every answer."""
        return list(self.stream(statement, params))

    def stream(self, statement: str, params: Mapping[str, Any] | None = None) -> Iterator[Series]:
        """The answer in chunks of at most ``CHUNK_ROWS`` rows, as InfluxDB sends them."""
        self._ensure_database()
        try:
            with self._http.stream("POST", "/query", data=self._form(statement, params, True)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._refused(statement, _error_text(response))
                for line in response.iter_lines():
                    if line.strip():
                        yield from self._series(statement, json.loads(line))
        except httpx.TransportError as exc:
            raise ConnectorUnreachableError(
                f"{self.keys}: cannot reach InfluxDB at {self.address.base_url} ({type(exc).__name__}). "
                "Check that influxd runs there and the URI's host and port."
            ) from exc

    def _series(self, statement: str, answer: Mapping[str, Any]) -> Iterator[Series]:
        if "error" in answer:
            raise self._refused(statement, str(answer["error"]))
        for result in answer.get("results", []):
            if "error" in result:
                raise self._refused(statement, str(result["error"]))
            for series in result.get("series", []):
                yield Series(series.get("name", ""), series["columns"], series.get("values", []))

    def write(self, bodies: Iterable[bytes]) -> None:
        """Write line protocol bodies, one request each."""
        self._ensure_database()
        for body in bodies:
            response = self._post("/write", content=body)
            if response.status_code >= 300:
                detail = _error_text(response)
                raise InfluxDBError(f"{self.keys}: InfluxDB refused a write: {detail}.", detail)

    def _ensure_database(self) -> None:
        """Create the database once, before the first statement (``CREATE DATABASE`` does
        nothing when it exists)."""
        if not self._database_ready:
            self._database_ready = True
            try:
                self.query(f"CREATE DATABASE {quote(self.address.database)}")
            except ConnectorError:
                self._database_ready = False
                raise


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} {response.text[:300]}"
