"""A statement hook for the injection tests (R5): every SQL text the engine hands to a database.

Three places are watched: the engine's own sessions (``DuckDBSession`` and
``SQLAlchemySession``: the SQL and its parameters as built), SQLAlchemy's
``before_cursor_execute`` event (what reaches the driver through SQLAlchemy), and DuckDB
connections through the session class. ``leaks`` then finds any statement whose text holds a
user value outside a quoted identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from mrsm_jupyter.connectors.sql.database import DuckDBSession, SQLAlchemySession


class StatementLog:
    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def add(self, sql: str, params: Any) -> None:
        self.statements.append((sql, params))

    def leaks(self, marker: str, quote: str = '"') -> list[str]:
        """Statements whose text holds ``marker`` outside identifiers quoted with ``quote``
        (a doubled quote inside is part of the name). A name quoted without escaping its
        quotes leaves its tail outside and is reported."""
        q = re.escape(quote)
        pattern = re.compile(f"{q}(?:[^{q}]|{q}{q})*{q}")
        return [sql for sql, _ in self.statements if marker in pattern.sub("<identifier>", sql)]

    def bound(self, marker: str) -> int:
        """How many statements carried the marker as a bound parameter (the proof it was seen)."""
        return sum(1 for _, params in self.statements if marker in repr(params))


@contextmanager
def capture(monkeypatch: pytest.MonkeyPatch, engines: Sequence[Any] = ()) -> Iterator[StatementLog]:
    log = StatementLog()
    for cls in (DuckDBSession, SQLAlchemySession):
        for name in ("execute", "fetchall", "fetch_arrow"):
            monkeypatch.setattr(cls, name, _recording(getattr(cls, name), log))

    def before(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        log.add(sql, params)

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield log
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", before)


def _recording(method: Any, log: StatementLog) -> Any:
    def wrapped(self: Any, sql: str, params: Mapping[str, Any] | None = None, *rest: Any) -> Any:
        log.add(sql, params)
        return method(self, sql, params, *rest)

    return wrapped
