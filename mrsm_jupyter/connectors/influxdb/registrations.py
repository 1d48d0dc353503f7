"""Pipe registrations in the measurement ``mrsm_pipes``: one point per pipe at time 0.

The point's tag ``pipe_id`` is a hash of the pipe's keys, so writing the point again
replaces it (InfluxDB overwrites a point with the same tags and time); its fields hold the
keys, the parameters (JSON) and when it was registered (to list pipes in that order).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mrsm_jupyter.connectors.influxdb import lineprotocol
from mrsm_jupyter.connectors.influxdb.client import InfluxDBClient
from mrsm_jupyter.connectors.influxdb.influxql import Where, quote, select
from mrsm_jupyter.connectors.instance import PipeKeys
from mrsm_jupyter.pipes.keys import split_negation

if TYPE_CHECKING:
    from mrsm_jupyter.pipes.pipe import Pipe

REGISTRY = "mrsm_pipes"


def pipe_id(keys: PipeKeys) -> str:
    return hashlib.sha256(json.dumps(list(keys)).encode()).hexdigest()[:32]


def _keys(pipe: Pipe) -> PipeKeys:
    return (pipe.connector_keys, pipe.metric_key, pipe.location_key)


class Registry:
    """Registrations of the pipes stored in one database."""

    def __init__(self, client: InfluxDBClient) -> None:
        self.client = client

    def _write(self, pipe: Pipe, fields: dict[str, Any]) -> None:
        columns = {name: pa.array([value]) for name, value in fields.items()}
        rows = lineprotocol.lines(
            REGISTRY, pa.array([0]), {"pipe_id": pa.array([pipe_id(_keys(pipe))])}, columns
        )
        self.client.write(lineprotocol.bodies(rows, 1 << 20))

    def lookup(self, pipe: Pipe) -> dict[str, Any] | None:
        """The stored parameters, or ``None``."""
        where = Where()
        where.clauses.append(f"{quote('pipe_id')} = {where.bind(pipe_id(_keys(pipe)))}")
        found = self.client.query(select(REGISTRY, ["parameters"], where), where.params)
        if not found or not found[0].values:
            return None
        loaded: dict[str, Any] = json.loads(found[0].values[0][1])
        return loaded

    def insert(self, pipe: Pipe) -> None:
        fields: dict[str, Any] = {
            "connector_keys": pipe.connector_keys,
            "metric_key": pipe.metric_key,
            "parameters": json.dumps(pipe.parameters, default=str),
            "registered": time.time_ns(),
        }
        if pipe.location_key is not None:
            fields["location_key"] = pipe.location_key
        self._write(pipe, fields)

    def update_parameters(self, pipe: Pipe) -> None:
        """Replace the parameters only (the other fields of the point stay)."""
        self._write(pipe, {"parameters": json.dumps(pipe.parameters, default=str)})

    def delete(self, pipe: Pipe) -> None:
        where = Where()
        where.clauses.append(f"{quote('pipe_id')} = {where.bind(pipe_id(_keys(pipe)))}")
        self.client.query(f"DELETE FROM {quote(REGISTRY)}{where.sql()}", where.params)

    def keys(
        self,
        connector_keys: Sequence[str | None],
        metric_keys: Sequence[str | None],
        location_keys: Sequence[str | None],
        tags: Sequence[str],
    ) -> list[PipeKeys]:
        """Keys of the registered pipes matching the filters (``_x`` excludes ``x``), in the
        order they were registered. Registrations are few: they are filtered here."""
        columns = ["connector_keys", "metric_key", "location_key", "parameters", "registered"]
        rows = [
            row for series in self.client.query(select(REGISTRY, columns, Where())) for row in series.values
        ]
        rows.sort(key=lambda row: row[5] or 0)
        filters = [split_negation(k) for k in (connector_keys, metric_keys, location_keys)]
        include_tags, exclude_tags = split_negation(tags)
        found: list[PipeKeys] = []
        for _, connector, metric, location, parameters, _ in rows:
            keys = (connector, metric, location)
            if any((inc and k not in inc) or k in exc for k, (inc, exc) in zip(keys, filters, strict=True)):
                continue
            pipe_tags = set(json.loads(parameters).get("tags") or [])
            if (include_tags and not pipe_tags.intersection(include_tags)) or pipe_tags.intersection(
                exclude_tags
            ):
                continue
            found.append(keys)
        return found
