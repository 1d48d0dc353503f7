"""When a scheduled job runs: ``every N seconds|minutes|hours|days|weeks`` or a cron line.

>>> from datetime import UTC, datetime
>>> Schedule.parse("every 10 minutes").next_run(datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
datetime.datetime(2024, 1, 1, 12, 10, tzinfo=datetime.timezone.utc)

Cron lines (five fields, or ``@hourly``-style aliases) are read in the machine's local time,
as cron does, and answered in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter
from dateutil import tz

from mrsm_jupyter.jobs.errors import ScheduleError

_EVERY = re.compile(
    r"every\s+(?:(?P<count>\d+(?:\.\d+)?)\s+)?(?P<unit>second|minute|hour|day|week)s?", re.IGNORECASE
)
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_FORMS = "'every 10 minutes' (seconds, minutes, hours, days, weeks) or a cron line such as '*/5 * * * *'"


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: either a fixed ``interval`` or a ``cron`` expression."""

    text: str
    interval: timedelta | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        cleaned = " ".join(text.split())
        match = _EVERY.fullmatch(cleaned)
        if match:
            seconds = float(match["count"] or 1) * _UNIT_SECONDS[match["unit"].lower()]
            if seconds < 1:
                raise ScheduleError(
                    f"schedule {text!r} is shorter than one second; use 'every 1 second' or more."
                )
            return cls(text=cleaned, interval=timedelta(seconds=seconds))
        is_cron_shape = len(cleaned.split()) == 5 or cleaned.startswith("@")
        if is_cron_shape and croniter.is_valid(cleaned):
            return cls(text=cleaned, cron=cleaned)
        raise ScheduleError(f"schedule {text!r} is not understood; use {_FORMS}.")

    def next_run(self, after: datetime) -> datetime:
        """The first run strictly after ``after`` (an aware datetime), in UTC."""
        if after.tzinfo is None:
            raise ValueError("next_run needs an aware datetime (e.g. datetime.now(UTC))")
        if self.interval is not None:
            return (after + self.interval).astimezone(UTC)
        assert self.cron is not None
        local_after = after.astimezone(tz.tzlocal())
        following: datetime = croniter(self.cron, local_after).get_next(datetime)
        return following.astimezone(UTC)

    def first_run(self, now: datetime) -> datetime:
        """Interval schedules run at once when started; cron schedules wait for their time."""
        return now.astimezone(UTC) if self.interval is not None else self.next_run(now)
