"""Pipe registrations in ``mrsm_pipes``, laid out as Meerschaum lays them out.

A Meerschaum 4.x instance and ours can share this table: each lists the other's pipes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mrsm_jupyter.connectors.sql.database import Database, Session
from mrsm_jupyter.pipes.keys import split_negation

if TYPE_CHECKING:
    from mrsm_jupyter.connectors.instance import PipeKeys
    from mrsm_jupyter.pipes.pipe import Pipe

PIPES_TABLE = "mrsm_pipes"


class Registry:
    """Reads and writes rows of ``mrsm_pipes``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.flavor = db.flavor
        self.table = self.flavor.quote(PIPES_TABLE)
        self._ready = False
        self._ready_lock = threading.Lock()

    def ensure(self) -> Registry:
        """Create ``mrsm_pipes`` once (in its own transaction); call before opening a session."""
        if self._ready:
            return self
        with self._ready_lock:
            if not self._ready and not self.db.read_only:  # a read-only file has what it has
                with self.db.transaction() as s:
                    for statement in self.flavor.create_pipes_table(self.table):
                        s.execute(statement)
                self._ready = True
        return self

    def _keys_clause(self, pipe: Pipe) -> tuple[str, dict[str, Any]]:
        p = self.flavor.param
        sql = f"connector_keys = {p('connector_keys')} AND metric_key = {p('metric_key')} AND "
        params: dict[str, Any] = {"connector_keys": pipe.connector_keys, "metric_key": pipe.metric_key}
        if pipe.location_key is None:
            # Meerschaum has written both NULL and the string 'None' for no location.
            sql += "(location_key IS NULL OR location_key = 'None')"
        else:
            sql += f"location_key = {p('location_key')}"
            params["location_key"] = pipe.location_key
        return sql, params

    def lookup(self, session: Session, pipe: Pipe) -> tuple[int, dict[str, Any]] | None:
        """The pipe's id and parameters, or ``None`` when it is not registered."""
        where, params = self._keys_clause(pipe)
        rows = session.fetchall(
            f"SELECT pipe_id, parameters FROM {self.table} WHERE {where} ORDER BY pipe_id", params
        )
        if not rows:
            return None
        pipe_id, parameters = rows[0]
        return int(pipe_id), _load_parameters(parameters)

    def insert(self, session: Session, pipe: Pipe) -> int:
        session.execute(
            self.flavor.insert_registration(self.table),
            {
                "connector_keys": pipe.connector_keys,
                "metric_key": pipe.metric_key,
                "location_key": pipe.location_key,
                "parameters": json.dumps(pipe.parameters, default=str),
            },
        )
        found = self.lookup(session, pipe)
        assert found is not None
        return found[0]

    def update_parameters(self, session: Session, pipe_id: int, parameters: dict[str, Any]) -> None:
        p = self.flavor.param
        session.execute(
            f"UPDATE {self.table} SET parameters = {self.flavor.json_param('parameters')} "
            f"WHERE pipe_id = {p('pipe_id')}",
            {"parameters": json.dumps(parameters, default=str), "pipe_id": pipe_id},
        )

    def delete(self, session: Session, pipe_id: int) -> None:
        session.execute(
            f"DELETE FROM {self.table} WHERE pipe_id = {self.flavor.param('pipe_id')}", {"pipe_id": pipe_id}
        )

    def keys(
        self,
        session: Session,
        connector_keys: Sequence[str | None],
        metric_keys: Sequence[str | None],
        location_keys: Sequence[str | None],
        tags: Sequence[str],
    ) -> list[PipeKeys]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for column, keys in (
            ("connector_keys", connector_keys),
            ("metric_key", metric_keys),
            ("location_key", location_keys),
        ):
            include, exclude = split_negation(keys)
            for negate, values in ((False, include), (True, exclude)):
                if values:
                    clauses.append(self._filter(column, values, negate, params))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = session.fetchall(
            "SELECT connector_keys, metric_key, location_key, parameters "
            f"FROM {self.table}{where} ORDER BY pipe_id",
            params,
        )
        include_tags, exclude_tags = split_negation(tags)
        found: list[PipeKeys] = []
        for connector, metric, location, parameters in rows:
            pipe_tags = set(_load_parameters(parameters).get("tags") or [])
            if include_tags and not pipe_tags.intersection(include_tags):
                continue
            if pipe_tags.intersection(exclude_tags):
                continue
            found.append((connector, metric, None if location in (None, "None") else location))
        return found

    def _filter(self, column: str, values: Sequence[str | None], negate: bool, params: dict[str, Any]) -> str:
        """``column IN (...)``, or its negation; ``None`` stands for no location (NULL or 'None')."""
        real = [v for v in values if v is not None]
        names = [f"{column}_{'not' if negate else 'in'}_{i}" for i in range(len(real))]
        params.update(dict(zip(names, real, strict=True)))
        in_list = f"{column} IN ({', '.join(self.flavor.param(n) for n in names)})" if real else ""
        is_none = f"({column} IS NULL OR {column} = 'None')"
        wants_none = len(real) < len(values)
        if not negate:
            return "(" + " OR ".join(p for p in (in_list, is_none if wants_none else "") if p) + ")"
        parts = [f"NOT {is_none}"] if wants_none else []
        if real:
            parts.append(f"({column} IS NULL OR NOT {in_list})" if not wants_none else f"NOT {in_list}")
        return "(" + " AND ".join(parts) + ")"


def _load_parameters(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, (bytes, str)):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value)
