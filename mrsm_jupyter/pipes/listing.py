"""``get_pipes``: registered pipes filtered by keys and tags, as Meerschaum returns them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, overload

from mrsm_jupyter.connectors.registry import DEFAULT_INSTANCE, get_connector
from mrsm_jupyter.pipes.keys import as_key_list
from mrsm_jupyter.pipes.pipe import Pipe

PipesDict = dict[str, dict[str, dict[str | None, Pipe]]]


@overload
def get_pipes(
    connector_keys: str | Sequence[str] | None = None,
    metric_keys: str | Sequence[str] | None = None,
    location_keys: str | Sequence[str | None] | None = None,
    tags: Sequence[str] | None = None,
    instance: str | None = None,
    as_list: Literal[False] = False,
    mrsm_instance: str | None = None,
) -> PipesDict: ...


@overload
def get_pipes(
    connector_keys: str | Sequence[str] | None = None,
    metric_keys: str | Sequence[str] | None = None,
    location_keys: str | Sequence[str | None] | None = None,
    tags: Sequence[str] | None = None,
    instance: str | None = None,
    *,
    as_list: Literal[True],
    mrsm_instance: str | None = None,
) -> list[Pipe]: ...


def get_pipes(
    connector_keys: str | Sequence[str] | None = None,
    metric_keys: str | Sequence[str] | None = None,
    location_keys: str | Sequence[str | None] | None = None,
    tags: Sequence[str] | None = None,
    instance: str | None = None,
    as_list: bool = False,
    mrsm_instance: str | None = None,
) -> PipesDict | list[Pipe]:
    """Registered pipes; ``_key`` excludes a key. A nested dict by default, like Meerschaum's.

    >>> get_pipes(instance="sql:memory", as_list=True)
    []
    """
    instance_keys = instance or mrsm_instance or DEFAULT_INSTANCE
    connector = get_connector(instance_keys)
    found = connector.fetch_pipes_keys(
        as_key_list(connector_keys),
        as_key_list(metric_keys),
        as_key_list(location_keys),
        list(tags or []),
    )
    pipes = [Pipe(c, m, loc, instance=connector) for c, m, loc in found]
    if as_list:
        return pipes
    nested: PipesDict = {}
    for pipe in pipes:
        nested.setdefault(pipe.connector_keys, {}).setdefault(pipe.metric_key, {})[pipe.location_key] = pipe
    return nested
