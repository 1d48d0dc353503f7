"""The base of every handler: authorization resource, JSON answers, errors, request parsing.

Errors from the engine are :class:`~mrsm_jupyter.errors.MrsmError`; they become JSON answers
``{"error": ..., "pipe": ...}`` with a 4xx status wherever they are raised in a handler.
Engine calls run on a worker thread so one slow sync never stalls the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from mrsm_jupyter.connectors.registry import DEFAULT_INSTANCE
from mrsm_jupyter.errors import (
    ConnectorError,
    ConnectorUnreachableError,
    LockTimeoutError,
    MrsmError,
    PipeError,
    PipeNotRegisteredError,
)
from mrsm_jupyter.jobs.errors import JobError, JobNotFoundError, JobStateError
from mrsm_jupyter.jupyter.server.payloads import ErrorInfo
from mrsm_jupyter.jupyter.server.secrets import scrub
from mrsm_jupyter.jupyter.server.wire import WireFormatError, dumps, loads_json, loads_object
from mrsm_jupyter.pipes.pipe import Pipe

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
# The resource a JupyterHub (or any Jupyter authorizer) grants permissions on.
AUTH_RESOURCE = "mrsm_jupyter"
_STATUS: tuple[tuple[type[MrsmError], int], ...] = (
    (PipeNotRegisteredError, 404),
    (JobNotFoundError, 404),
    (ConnectorUnreachableError, 503),
    (ConnectorError, 404),
    (LockTimeoutError, 409),
    (JobStateError, 409),
)


_DATABASE_MODULES = ("duckdb", "_duckdb", "sqlalchemy", "psycopg", "pymysql", "sqlite3")
# Database errors that say the database, not the request, is at fault.
_UNAVAILABLE = ("Operational", "Connection", "Interface", "IOException")
_CONFLICT = ("Transaction", "Lock")


def is_database_error(exc: BaseException | None) -> bool:
    """Raised by a database driver (reads surface them as they are; see connectors/sql)."""
    return exc is not None and type(exc).__module__.split(".")[0] in _DATABASE_MODULES


def authorized_to(action: str) -> Callable[[F], F]:
    """``@authorized(action)`` with its type (``execute`` for routes that run code)."""
    return cast("Callable[[F], F]", authorized(action))


def status_of(exc: BaseException) -> int:
    """400 for bad input; 404, 409 and 503 where the error says so."""
    if isinstance(exc, MrsmError):
        return next((status for cls, status in _STATUS if isinstance(exc, cls)), 400)
    name = type(exc).__name__
    if any(word in name for word in _UNAVAILABLE):
        return 503
    return 409 if any(word in name for word in _CONFLICT) else 400


def error_info(exc: BaseException | None, status: int) -> ErrorInfo:
    """The JSON body of an error answer (secrets scrubbed from every text)."""
    if isinstance(exc, MrsmError):
        info = ErrorInfo(error=scrub(str(exc)), message="", type=type(exc).__name__, pipe=None)
        if isinstance(exc, PipeError):
            info["pipe"] = scrub(str(exc.pipe))
        if isinstance(exc, (PipeError, JobError)):
            info["problem"], info["remedy"] = scrub(exc.problem), scrub(exc.remedy)
        if isinstance(exc, JobError):
            info["job"] = exc.job
    elif is_database_error(exc):
        text = f"the database refused the request ({type(exc).__name__}: {exc})"
        info = ErrorInfo(error=scrub(text), message="", type="DatabaseError", pipe=None)
    elif isinstance(exc, HTTPError):
        text = exc.log_message or exc.reason or f"HTTP {status}"
        info = ErrorInfo(error=scrub(text), message="", type="HTTPError", pipe=None)
    else:  # a bug or a server fault: no details to the client (they are in the server log)
        info = ErrorInfo(error="Unhandled error; see the server log.", message="", type="Error", pipe=None)
    info["message"] = info["error"]
    return info


class MrsmHandler(APIHandler):
    """Every route derives from this; each method is ``@authenticated`` and ``@authorized``."""

    auth_resource = AUTH_RESOURCE

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MrsmError) or is_database_error(exc):
            status_code = status_of(exc)
            self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(error_info(exc, status_code)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, MrsmError) or (is_database_error(value) and status_of(value) < 500):
            # The client's mistake, told in the answer.
            self.log.info(
                "mrsm_jupyter: %s %s: %s", self.request.method, self.request.path, scrub(str(value))
            )
            return
        super().log_exception(typ, value, tb)

    async def call(self, function: Callable[[], T]) -> T:
        """Run a blocking engine call on a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(None, function)

    def send_json(self, payload: Any, status: int = 200, *, ready: bool = False) -> None:
        """Answer JSON; ``ready`` skips converting values that are JSON values already."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(payload, ready=ready))

    # Request parsing: raw bytes, decoded strictly (tornado would turn control characters
    # into spaces and strip whitespace, silently naming another pipe).
    def query_list(self, name: str) -> list[str]:
        try:
            return [raw.decode("utf-8") for raw in self.request.query_arguments.get(name, [])]
        except UnicodeDecodeError as exc:
            raise WireFormatError(f"query parameter {name!r} is not UTF-8.") from exc

    def query(self, name: str, default: str | None = None) -> str | None:
        values = self.query_list(name)
        return values[-1] if values else default

    def query_int(self, name: str, default: int | None, low: int, high: int) -> int | None:
        text = self.query(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError as exc:
            raise WireFormatError(f"query parameter {name!r} must be an integer, got {text[:40]!r}.") from exc
        if not low <= value <= high:
            raise WireFormatError(f"query parameter {name!r} must be between {low} and {high}.")
        return value

    def query_json(self, name: str) -> Any:
        text = self.query(name)
        return None if text is None or text == "" else loads_json(text, f"query parameter {name!r}")

    def body_object(self) -> dict[str, Any]:
        return loads_object(self.request.body, "the request body") or {}

    @property
    def instance_keys(self) -> str:
        return self.query("instance_keys") or DEFAULT_INSTANCE

    def pipe(self, connector_keys: str, metric_key: str, location_key: str) -> Pipe:
        """The pipe named by the path, on the requested instance.

        With a ``parameters`` query parameter (what the ``api:`` connector sends), the pipe
        uses exactly those parameters, as the caller's own ``Pipe`` object would.
        """
        pipe = Pipe(connector_keys, metric_key, location_key, instance=self.instance_keys)
        parameters = self.query_json("parameters")
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise WireFormatError("query parameter 'parameters' must be a JSON object.")
            pipe.parameters = parameters
        return pipe
