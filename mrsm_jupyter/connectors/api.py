"""The ``api:`` instance: pipes stored on a remote Jupyter server, through mrsm_jupyter's REST API.

>>> # MRSM_API_TEAM=http://host:8888/?token=...  (optionally &instance=sql:main)
>>> pipe = Pipe("demo", "temperature", instance="api:team")  # doctest: +SKIP

Every call sends the caller's own pipe parameters, so a pipe behaves on an ``api:`` instance
exactly as on the instance it is stored in. Syncs upload Arrow IPC in bounded chunks (each
chunk is merged in its own transaction); reads follow the server's cursor page after page.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyarrow as pa

from mrsm_jupyter import errors
from mrsm_jupyter.connectors.instance import InstanceConnector, Params, PipeKeys
from mrsm_jupyter.connectors.registry import DEFAULT_INSTANCE
from mrsm_jupyter.errors import ConnectorError, ConnectorUnreachableError, MrsmError, PipeError
from mrsm_jupyter.jobs import errors as job_errors
from mrsm_jupyter.jupyter.server.payloads import (
    ARROW_STREAM,
    NEXT_CURSOR_HEADER,
    ErrorInfo,
    PipeDetail,
    SyncResultInfo,
)
from mrsm_jupyter.jupyter.server.wire import (
    NONE_LOCATION,
    WireFormatError,
    decode_sync_time,
    dumps,
    encode_bound,
    ipc_to_table,
    pipe_path,
    table_to_ipc,
)
from mrsm_jupyter.pipes.bounds import Bound, Window
from mrsm_jupyter.pipes.result import SyncResult

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.api_fingerprints import APIFingerprints
    from mrsm_jupyter.pipes.pipe import Pipe

QueryParams = list[tuple[str, str]]
_RETRY_SECONDS = 0.25


def _error_class(name: str) -> type[MrsmError] | None:
    for module in (errors, job_errors):
        found = getattr(module, name, None)
        if isinstance(found, type) and issubclass(found, MrsmError):
            return found
    return WireFormatError if name == WireFormatError.__name__ else None


class APIConnector(InstanceConnector):
    """A remote Jupyter server (with mrsm_jupyter's server extension) as a pipe instance."""

    type = "api"

    def __init__(self, label: str, attrs: Mapping[str, Any]) -> None:
        self.label = label
        uri = str(attrs.get("uri") or "")
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConnectorError(
                f"api:{label} needs a URI like http://host:8888/?token=...; set MRSM_API_{label.upper()}."
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"
        # The instance on the server that holds the pipes.
        self.remote_instance = str(attrs.get("instance") or query.get("instance") or DEFAULT_INSTANCE)
        token = attrs.get("token") or query.get("token")
        self.retries = int(attrs.get("retries", 3))
        self.page_rows = int(attrs.get("page_rows", 1_000_000))
        self.page_bytes = int(attrs.get("page_bytes", 64 * 1024 * 1024))
        self.chunk_bytes = int(attrs.get("chunk_bytes", 32 * 1024 * 1024))
        self.progress = bool(attrs.get("progress", False))
        self._client = httpx.Client(
            base_url=self.base_url + "mrsm/api/",
            headers={"Authorization": f"token {token}"} if token else {},
            timeout=float(attrs.get("timeout", 300)),
        )

    def __repr__(self) -> str:
        return f"APIConnector('api:{self.label}', {self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    # HTTP.
    def _request(
        self,
        method: str,
        path: str,
        *,
        pipe: Pipe | None = None,
        query: QueryParams | None = None,
        body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call, retried on connection errors; errors come back as the server raised them."""
        params = [*(query or []), ("instance_keys", self.remote_instance)]
        if body is not None:
            content, headers = dumps(body).encode(), {"Content-Type": "application/json"}
        for attempt in range(self.retries + 1):
            try:
                response = self._client.request(
                    method, path, params=tuple(params), content=content, headers=headers
                )
                break
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ConnectTimeout) as exc:
                if attempt == self.retries:
                    raise ConnectorUnreachableError(
                        f"{self.keys}: cannot reach {self.base_url} ({type(exc).__name__}) after "
                        f"{self.retries + 1} tries. Check that the Jupyter server runs there."
                    ) from exc
                time.sleep(_RETRY_SECONDS * 2**attempt)
            except httpx.TimeoutException as exc:
                raise ConnectorUnreachableError(
                    f"{self.keys}: {method} {path} got no answer in time ({type(exc).__name__}).",
                ) from exc
        if response.status_code >= 400:
            raise self._error(response, pipe)
        return response

    def _error(self, response: httpx.Response, pipe: Pipe | None) -> MrsmError:
        """The server's exception, raised again here (naming the caller's pipe)."""
        where = f"{response.request.method} {response.request.url.path}"
        try:
            info: ErrorInfo = response.json()
            text, name = str(info["error"]), str(info["type"])
        except (ValueError, KeyError, TypeError):
            return ConnectorError(
                f"{self.keys}: {where} answered {response.status_code}: {response.text[:200]!r}. "
                "Is mrsm_jupyter installed and enabled on that Jupyter server?"
            )
        if response.status_code == 403:
            return ConnectorError(f"{self.keys}: {where} was refused ({text}). Check the token in its URI.")
        cls = _error_class(name)
        if cls is not None and issubclass(cls, PipeError) and pipe is not None:
            return cls(pipe, info.get("problem") or text, info.get("remedy") or "")
        if cls is not None and issubclass(cls, errors.JobError):
            return cls(info.get("job") or "", info.get("problem") or text, info.get("remedy") or "")
        if pipe is not None:
            return PipeError(pipe, f"{self.keys} answered {response.status_code}: {text}")
        return (cls or ConnectorError)(f"{self.keys}: {text}")

    def _pipe_query(
        self, pipe: Pipe, window: Window | None = None, params: Params | None = None
    ) -> QueryParams:
        query = [("parameters", dumps(pipe.parameters))]
        if window is not None:
            query += [
                (k, str(encode_bound(v)))
                for k, v in (("begin", window.begin), ("end", window.end))
                if v is not None
            ]
        if params is not None:
            query.append(("params", dumps(params)))
        return query

    @staticmethod
    def _path(pipe: Pipe, suffix: str = "") -> str:
        return pipe_path(pipe.connector_keys, pipe.metric_key, pipe.location_key) + suffix

    # Registrations.
    def register_pipe(self, pipe: Pipe) -> None:
        body = {
            "connector_keys": pipe.connector_keys,
            "metric_key": pipe.metric_key,
            "location_key": pipe.location_key,
            "parameters": pipe.parameters,
        }
        self._request("POST", "pipes", pipe=pipe, body=body)

    def get_pipe_parameters(self, pipe: Pipe) -> dict[str, Any] | None:
        try:
            detail: PipeDetail = self._request("GET", self._path(pipe), pipe=pipe).json()
        except errors.PipeNotRegisteredError:
            return None
        return detail["parameters"]

    def edit_pipe(self, pipe: Pipe) -> None:
        self._request("PATCH", self._path(pipe), pipe=pipe, body={"parameters": pipe.parameters})

    def delete_pipe(self, pipe: Pipe) -> None:
        self._request("DELETE", self._path(pipe), pipe=pipe, query=self._pipe_query(pipe))

    def fetch_pipes_keys(
        self,
        connector_keys: Sequence[str | None],
        metric_keys: Sequence[str | None],
        location_keys: Sequence[str | None],
        tags: Sequence[str],
    ) -> list[PipeKeys]:
        query: QueryParams = []
        for name, keys in (("connector_keys", connector_keys), ("metric_keys", metric_keys)):
            query += [(name, k) for k in keys if k is not None]
        query += [("location_keys", NONE_LOCATION if k is None else k) for k in location_keys]
        query += [("tags", t) for t in tags]
        found = self._request("GET", "pipes", query=query).json()
        return [(p["connector_keys"], p["metric_key"], p["location_key"]) for p in found]

    # Data.
    def _get(self, pipe: Pipe, suffix: str, query: QueryParams) -> Any:
        """GET ``pipes/<keys><suffix>`` and decode its JSON."""
        return self._request("GET", self._path(pipe, suffix), pipe=pipe, query=query).json()

    def _post(self, pipe: Pipe, suffix: str, body: Any = None) -> Any:
        """POST to ``pipes/<keys><suffix>`` (the pipe's parameters in the query) and decode its JSON."""
        query = self._pipe_query(pipe)
        return self._request("POST", self._path(pipe, suffix), pipe=pipe, query=query, body=body).json()

    def pipe_exists(self, pipe: Pipe) -> bool:
        return bool(self._get(pipe, "/exists", self._pipe_query(pipe))["exists"])

    def sync_pipe(self, pipe: Pipe, batch: pa.Table) -> SyncResult:
        """Upload the batch in chunks of about ``chunk_bytes``, each merged in one transaction."""
        total = SyncResult(str(pipe), batches=1)
        for chunk in self._chunks(batch):
            info: SyncResultInfo = self._request(
                "POST",
                self._path(pipe, "/data"),
                pipe=pipe,
                query=self._pipe_query(pipe),
                content=table_to_ipc(chunk),
                headers={"Content-Type": ARROW_STREAM},
            ).json()
            done = SyncResult(str(pipe), info["inserted"], info["updated"], info["unchanged"])
            done.duration = info["duration"]
            done.columns_added, done.columns_widened = info["columns_added"], info["columns_widened"]
            done.created_table = info["created_table"]
            total.add(done)
            # What the server recorded, as a SQL instance records it on the caller's pipe.
            pipe.parameters.setdefault("dtypes", {}).update(info["dtypes"])
        return total

    # Diagnostics: the server records each chunk's sync (and its failure) where it stores the
    # rows, so ``record_run`` keeps the default (nothing to send).
    def read_runs(self, window: Window, kinds: Sequence[str] | None, limit: int | None) -> pa.Table:
        query: QueryParams = [
            (k, str(encode_bound(v)))
            for k, v in (("begin", window.begin), ("end", window.end))
            if v is not None
        ]
        query += [("kinds", kind) for kind in kinds or ()]
        if limit is not None:
            query.append(("limit", str(limit)))
        return ipc_to_table(
            self._request("GET", "runs", query=query, headers={"Accept": ARROW_STREAM}).content
        )

    def _chunks(self, batch: pa.Table) -> Iterator[pa.Table]:
        rows = batch.num_rows
        per_chunk = max(1, rows * self.chunk_bytes // max(batch.nbytes, 1)) if rows else 1
        if rows <= per_chunk:
            yield batch
            return
        for start in range(0, rows, per_chunk):
            yield batch.slice(start, per_chunk)

    def _pages(
        self,
        pipe: Pipe,
        columns: Sequence[str] | None,
        window: Window,
        params: Params | None,
        order: str | None,
        limit: int | None,
    ) -> Iterator[pa.Table]:
        """Pages of rows, following the server's cursor until it gives none."""
        query = [*self._pipe_query(pipe, window, params), ("order", order or "asc"), ("format", "arrow")]
        query += [("page_rows", str(self.page_rows)), ("page_bytes", str(self.page_bytes))]
        query += [("select_columns", c) for c in columns or []]
        query += [("limit", str(limit))] if limit is not None else []
        cursor: str | None = None
        bar = self._progress_bar(pipe, window, params, limit)
        try:
            while True:
                page_query = query + ([("cursor", cursor)] if cursor else [])
                response = self._request("GET", self._path(pipe, "/data"), pipe=pipe, query=page_query)
                table = ipc_to_table(response.content)
                if bar is not None:
                    bar.update(table.num_rows)
                yield table
                cursor = response.headers.get(NEXT_CURSOR_HEADER)
                if not cursor:
                    return
        finally:
            if bar is not None:
                bar.close()

    def _progress_bar(self, pipe: Pipe, window: Window, params: Params | None, limit: int | None) -> Any:
        if not self.progress:
            return None
        from tqdm.auto import tqdm  # noqa: PLC0415 (only when a bar is wanted)

        total = self.get_rowcount(pipe, window, params)
        return tqdm(total=total if limit is None else min(total, limit), desc=str(pipe), unit="row")

    def read_pipe(
        self,
        pipe: Pipe,
        columns: Sequence[str] | None,
        window: Window,
        params: Params | None,
        order: str | None,
        limit: int | None,
    ) -> pa.Table:
        pages = [p for p in self._pages(pipe, columns, window, params, order, limit) if p.num_columns]
        if not pages:
            return pa.table({})
        return pa.concat_tables(pages, promote_options="permissive") if len(pages) > 1 else pages[0]

    def read_pipe_batches(
        self,
        pipe: Pipe,
        columns: Sequence[str] | None,
        windows: Sequence[Window],
        params: Params | None,
        order: str | None,
    ) -> Iterator[pa.Table]:
        """Each page as it arrives."""
        for window in windows:
            yield from (p for p in self._pages(pipe, columns, window, params, order, None) if p.num_rows)

    def get_distinct(
        self, pipe: Pipe, column: str, window: Window, params: Params | None, limit: int | None
    ) -> list[Any]:
        query = [*self._pipe_query(pipe, window, params), ("column", column)]
        query += [("limit", str(limit))] if limit is not None else []
        values = self._get(pipe, "/distinct", query)["values"]
        return [_from_json(v, pipe.dtypes.get(column)) for v in values]

    def get_sync_time(self, pipe: Pipe, newest: bool, params: Params | None) -> Bound:
        query = [*self._pipe_query(pipe, None, params), ("newest", "true" if newest else "false")]
        return decode_sync_time(self._get(pipe, "/sync_time", query)["sync_time"])

    def get_rowcount(self, pipe: Pipe, window: Window, params: Params | None) -> int:
        return int(self._get(pipe, "/rowcount", self._pipe_query(pipe, window, params))["rowcount"])

    def get_columns_types(self, pipe: Pipe) -> dict[str, str]:
        return dict(self._get(pipe, "/columns", self._pipe_query(pipe))["columns"])

    # Maintenance.
    def clear_pipe(self, pipe: Pipe, window: Window, params: Params | None) -> int:
        body = {"begin": encode_bound(window.begin), "end": encode_bound(window.end), "params": params}
        return int(self._post(pipe, "/clear", body)["rows"] or 0)

    def drop_pipe(self, pipe: Pipe) -> None:
        self._post(pipe, "/drop")

    def deduplicate_pipe(self, pipe: Pipe) -> int:
        return int(self._post(pipe, "/deduplicate")["rows"] or 0)

    # Verify: fingerprints computed by the server's instance (connectors/api_fingerprints.py).
    def pipe_fingerprints(self, pipe: Pipe) -> APIFingerprints:
        from mrsm_jupyter.connectors.api_fingerprints import APIFingerprints  # noqa: PLC0415 (cycle)

        return APIFingerprints(self, pipe)

    def post_pipe(self, pipe: Pipe, suffix: str, body: Any) -> httpx.Response:
        """POST JSON to ``pipes/<keys><suffix>``, the pipe's parameters in the query."""
        return self._request(
            "POST", self._path(pipe, suffix), pipe=pipe, query=self._pipe_query(pipe), body=body
        )

    # As a source (Meerschaum's api connector): rows of another pipe on the remote instance.
    def fetch(self, pipe: Pipe, window: Window) -> Iterator[pa.Table]:
        """Rows of the remote pipe named by ``fetch.pipe`` in ``[begin, end)``, page by page."""
        from mrsm_jupyter.pipes.pipe import Pipe  # noqa: PLC0415 (pipes import connectors)

        source = (pipe.parameters.get("fetch") or {}).get("pipe") or {}
        if not isinstance(source, dict) or not source.get("connector_keys") or not source.get("metric_key"):
            raise PipeError(
                pipe,
                f"has no remote pipe to fetch from {self.keys}.",
                "Name it: parameters={'fetch': {'pipe': {'connector_keys': ..., 'metric_key': ...}}}.",
            )
        remote = Pipe(
            source["connector_keys"], source["metric_key"], source.get("location_key"), instance=self
        )
        return self.read_pipe_batches(remote, None, [window], None, "asc")


def _from_json(value: Any, dtype: str | None) -> Any:
    """A JSON value back to the Python type of its dtype."""
    if value is None or dtype is None:
        return value
    if dtype.startswith("datetime"):
        return datetime.fromisoformat(value)
    converters: dict[str, Callable[[Any], Any]] = {
        "date": date.fromisoformat,
        "numeric": Decimal,
        "bytes": base64.b64decode,
    }
    converter = converters.get(dtype)
    return value if converter is None else converter(value)
