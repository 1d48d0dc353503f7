"""Fetch definitions: ``{{ Pipe(...) }}`` references to other pipes' tables, and sync order.

A reference is parsed, never evaluated: only literal arguments are accepted.

>>> [ref.keys for ref in pipe_references("SELECT * FROM {{ Pipe('sql:src', 'raw') }}")]
[('sql:src', 'raw', None)]
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Any

from mrsm_jupyter.errors import InvalidKeysError

if TYPE_CHECKING:
    from mrsm_jupyter.pipes.pipe import Pipe

_REFERENCE = re.compile(r"\{\{\s*(Pipe\s*\(.*?\))\s*\}\}", re.DOTALL)


@dataclass(frozen=True)
class PipeReference:
    connector_keys: str
    metric_key: str
    location_key: str | None = None
    instance: str | None = None

    @property
    def keys(self) -> tuple[str, str, str | None]:
        return (self.connector_keys, self.metric_key, self.location_key)


def _parse_reference(text: str) -> PipeReference:
    try:
        call = ast.parse(text, mode="eval").body
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "Pipe":
            raise ValueError("not a call of Pipe")
        args: list[Any] = [ast.literal_eval(a) for a in call.args]
        kwargs: dict[str, Any] = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        return PipeReference(*args, **kwargs)
    except (SyntaxError, ValueError, TypeError) as exc:
        raise InvalidKeysError(
            f"Cannot read the reference {{{{ {text} }}}} ({exc}); write it as "
            "{{ Pipe('connector', 'metric', 'location', instance='sql:...') }} with literal keys."
        ) from exc


def pipe_references(definition: str) -> list[PipeReference]:
    """The pipes a fetch definition reads, in order of appearance."""
    return [_parse_reference(m.group(1)) for m in _REFERENCE.finditer(definition)]


def resolve_references(definition: str, table_of: Callable[[PipeReference], str]) -> str:
    """Replace each ``{{ Pipe(...) }}`` with the (quoted) table ``table_of`` gives for it."""
    return _REFERENCE.sub(lambda m: table_of(_parse_reference(m.group(1))), definition)


def order_by_dependencies(pipes: Sequence[Pipe]) -> list[Pipe]:
    """Pipes ordered so that each comes after the pipes its definition reads."""
    by_keys = {p.keys[:3]: p for p in pipes}
    graph: dict[Pipe, list[Pipe]] = {}
    for pipe in pipes:
        definition = (pipe.parameters.get("fetch") or {}).get("definition") or ""
        graph[pipe] = [by_keys[r.keys] for r in pipe_references(definition) if r.keys in by_keys]
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise InvalidKeysError(f"Pipes read each other in a cycle: {exc.args[1]}; break the cycle.") from exc
