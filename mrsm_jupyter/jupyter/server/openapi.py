"""The OpenAPI document, generated from the payload types and the handlers' declared operations.

Each handler method carries an :class:`Operation` (set with :func:`operation`); the document
walks the route table, so a route cannot be served without being described.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args, get_origin, is_typeddict

from mrsm_jupyter import __version__
from mrsm_jupyter.jupyter.server.payloads import ARROW_STREAM, ErrorInfo

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "_mrsm_operation"
_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Query:
    """A query parameter; ``many`` for repeated ones (``?tags=a&tags=b``)."""

    name: str
    description: str
    type: Any = str
    many: bool = False


@dataclass(frozen=True)
class Operation:
    summary: str
    response: Any = None
    request: Any = None
    query: Sequence[Query] = ()
    status: int = 200
    arrow_request: bool = False
    arrow_response: bool = False
    extra_responses: dict[str, str] = field(default_factory=dict)


def operation(spec: Operation) -> Callable[[F], F]:
    """Declare what a handler method takes and answers (read by :func:`openapi_document`)."""

    def mark(method: F) -> F:
        setattr(method, _ATTRIBUTE, spec)
        return method

    return mark


def operation_of(method: Any) -> Operation | None:
    """The declared operation, also through decorators that used functools.wraps."""
    while method is not None:
        spec = getattr(method, _ATTRIBUTE, None)
        if spec is not None:
            return spec  # type: ignore[no-any-return]
        method = getattr(method, "__wrapped__", None)
    return None


def json_schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a payload type; TypedDicts become shared components."""
    origin = get_origin(tp)
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if tp is Any:
        return {}
    if tp in simple:
        return {"type": simple[tp]}
    if is_typeddict(tp):
        return _typeddict_schema(tp, components)
    if origin in (list, Sequence, tuple):
        return {"type": "array", "items": json_schema(get_args(tp)[0], components)}
    if origin is dict:
        return {"type": "object", "additionalProperties": json_schema(get_args(tp)[1], components)}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema(arg, components) for arg in get_args(tp)]}
    raise TypeError(f"No JSON schema for {tp!r}; declare payloads with plain types and TypedDicts.")


def _typeddict_schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    name = tp.__name__
    if name not in components:
        components[name] = {}  # placeholder against recursion
        hints = typing.get_type_hints(tp, include_extras=True)
        properties, required = {}, []
        for key, hint in hints.items():
            not_required = get_origin(hint) is typing.NotRequired
            optional = not_required or key in tp.__optional_keys__
            properties[key] = json_schema(get_args(hint)[0] if not_required else hint, components)
            if not optional:
                required.append(key)
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if tp.__doc__:
            schema["description"] = " ".join(tp.__doc__.split())
        components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _parameters(path: str, spec: Operation, components: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(path)
    ]
    for q in spec.query:
        schema = json_schema(q.type, components)
        found.append(
            {
                "name": q.name,
                "in": "query",
                "required": False,
                "description": q.description,
                "schema": {"type": "array", "items": schema} if q.many else schema,
                **({"explode": True} if q.many else {}),
            }
        )
    return found


def names_a_connector(path: str, spec: Operation) -> bool:
    """Whether a request names an instance or a connector (in its path, query or body): one
    the server does not know is answered 404 (``ConnectorError``), like a pipe not registered."""
    named = set(_PATH_PARAMETER.findall(path)) | {q.name for q in spec.query}
    if is_typeddict(spec.request):
        named |= set(typing.get_type_hints(spec.request))
    return bool(named & {"connector_keys", "instance_keys"})


def _operation_object(path: str, spec: Operation, components: dict[str, Any]) -> dict[str, Any]:
    error = {"application/json": {"schema": json_schema(ErrorInfo, components)}}
    body: dict[str, Any] = {}
    if spec.response is not None:
        body["application/json"] = {"schema": json_schema(spec.response, components)}
    if spec.arrow_response:
        body[ARROW_STREAM] = {"schema": {"type": "string", "format": "binary"}}
    responses: dict[str, Any] = {str(spec.status): {"description": spec.summary, "content": body}}
    errors = {"400": "bad input", "403": "not authenticated or not authorized"}
    if names_a_connector(path, spec):
        errors["404"] = "no such pipe, instance or connector"
        errors["503"] = "the instance or connector did not answer"
    for status, text in errors.items():
        responses[status] = {"description": text, "content": error}
    for status, text in spec.extra_responses.items():
        responses[status] = {"description": text, "content": error}
    result: dict[str, Any] = {
        "summary": spec.summary,
        "parameters": _parameters(path, spec, components),
        "responses": responses,
    }
    content: dict[str, Any] = {}
    if spec.request is not None:
        content["application/json"] = {"schema": json_schema(spec.request, components)}
    if spec.arrow_request:
        content[ARROW_STREAM] = {"schema": {"type": "string", "format": "binary"}}
    if content:
        result["requestBody"] = {"required": spec.request is not None, "content": content}
    return result


def openapi_document(routes: Sequence[tuple[str, type]], base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (path templates under ``<base_url>mrsm/api/``)."""
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for path, handler in routes:
        methods = {}
        for method in ("get", "post", "put", "patch", "delete"):
            spec = operation_of(handler.__dict__.get(method))
            if spec is not None:
                methods[method] = _operation_object(path, spec, components)
        paths["/" + path] = methods
    return {
        "openapi": "3.1.0",
        "info": {"title": "mrsm_jupyter REST API", "version": __version__},
        "servers": [{"url": base_url.rstrip("/") + "/mrsm/api"}],
        "components": {
            "schemas": components,
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        },
        "security": [{"token": []}],
        "paths": paths,
    }
