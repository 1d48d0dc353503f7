"""InfluxQL: quoted identifiers, and WHERE clauses whose values are bound parameters.

Values never enter a statement's text: InfluxDB 1.x binds ``$name`` from the ``params``
JSON of ``/query``. Only identifiers (measurement and column names) are written into the
text, double-quoted with backslashes and double quotes escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TIME = "time"


def quote(name: str) -> str:
    """A double-quoted identifier."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class UnsupportedFilterError(ValueError):
    """A filter InfluxQL cannot express (a missing field value)."""


@dataclass
class Where:
    """A WHERE clause being built, and the values bound to its parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def time_window(self, begin_ns: int | None, end_ns: int | None) -> Where:
        """``begin <= time < end`` (half-open; either side may be open)."""
        if begin_ns is not None:
            self.clauses.append(f"{TIME} >= {self.bind(begin_ns)}")
        if end_ns is not None:
            self.clauses.append(f"{TIME} < {self.bind(end_ns)}")
        return self

    def matching(
        self,
        column: str,
        value: Any,
        tag: bool,
        encode: Callable[[Any], Any],
    ) -> Where:
        """The params grammar on one column: scalar ``=``, list: any of them, ``"_x"`` ``!=``,
        ``None`` no value, ``"_None"`` some value (tags only: InfluxDB stores no missing fields)."""
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        plain = [v for v in values if not (isinstance(v, str) and v.startswith("_"))]
        negated = [v[1:] for v in values if isinstance(v, str) and v.startswith("_")]
        name = TIME if column == TIME else quote(column)
        pieces = [
            self._group(name, plain, "=", " OR ", tag, encode),
            self._group(name, negated, "!=", " AND ", tag, encode),
        ]
        self.clauses.extend(p for p in pieces if p)
        return self

    def _group(
        self, name: str, values: list[Any], op: str, joiner: str, tag: bool, encode: Callable[[Any], Any]
    ) -> str:
        parts = []
        for value in values:
            if value is None or value == "None":
                if not tag:
                    raise UnsupportedFilterError(name)
                parts.append(f"{name} {op} ''")  # an absent tag reads as the empty string
            else:
                parts.append(f"{name} {op} {self.bind(encode(value))}")
        return "(" + joiner.join(parts) + ")" if parts else ""

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


def select(
    measurement: str,
    columns: list[str] | None,
    where: Where,
    descending: bool = False,
    limit: int | None = None,
) -> str:
    """``SELECT`` of some columns (or all) from a measurement."""
    picked = ", ".join(quote(c) for c in columns) if columns is not None else "*"
    text = f"SELECT {picked} FROM {quote(measurement)}{where.sql()}"
    if descending:
        text += " ORDER BY time DESC"
    if limit is not None:
        text += f" LIMIT {int(limit)}"
    return text


def aggregate(function: str, column: str, measurement: str, where: Where) -> str:
    return f"SELECT {function}({quote(column)}) FROM {quote(measurement)}{where.sql()}"
