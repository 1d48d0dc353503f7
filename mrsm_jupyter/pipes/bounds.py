"""Half-open time windows ``[begin, end)``, backtrack and chunk intervals, defined once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeAlias

from mrsm_jupyter.errors import InvalidBoundError

Bound: TypeAlias = datetime | int | None
DEFAULT_BACKTRACK_MINUTES = 1440
DEFAULT_CHUNK_MINUTES = 43200


def to_utc(value: datetime | date | str | int | None) -> Bound:
    """Normalize a bound: naive datetimes are taken as UTC; strings are parsed (ISO 8601)."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidBoundError(
                f"{text[:80]!r} is not a datetime bound. Pass an ISO 8601 string such as "
                "'2024-01-01T00:00:00+00:00', a datetime, a date or an integer."
            ) from None
    if not isinstance(value, datetime):  # a date: its midnight
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def step(bound: datetime | int, interval: timedelta | int) -> datetime | int:
    """``bound + interval`` for either kind of axis (datetimes with timedeltas, ints with ints)."""
    if isinstance(bound, datetime):
        return bound + (interval if isinstance(interval, timedelta) else timedelta(minutes=interval))
    if isinstance(interval, timedelta):
        raise ValueError("An integer datetime axis needs an integer chunk interval.")
    return bound + interval


@dataclass(frozen=True)
class Window:
    """A half-open window: ``begin <= dt < end``; either side may be open (``None``)."""

    begin: Bound = None
    end: Bound = None

    @classmethod
    def of(cls, begin: datetime | date | str | int | None, end: datetime | date | str | int | None) -> Window:
        return cls(to_utc(begin), to_utc(end))

    @property
    def is_empty(self) -> bool:
        return self.begin is not None and self.end is not None and self.begin >= self.end  # type: ignore[operator]

    def chunks(self, interval: timedelta | int) -> Iterator[Window]:
        """Split a window with both ends into consecutive windows of ``interval``."""
        if self.begin is None or self.end is None:
            yield self
            return
        start: datetime | int = self.begin
        while start < self.end:  # type: ignore[operator]  # both ends share one axis kind
            stop = step(start, interval)
            stop = stop if stop < self.end else self.end  # type: ignore[operator]
            yield Window(start, stop)
            start = stop


def backtrack_begin(sync_time: Bound, backtrack_minutes: int) -> Bound:
    """Where an incremental fetch starts: the newest sync time minus the backtrack window."""
    if sync_time is None:
        return None
    if isinstance(sync_time, int):
        return sync_time - backtrack_minutes
    return sync_time - timedelta(minutes=backtrack_minutes)
