"""pm2's restart backoff: the delay doubles from 100 ms to a 15 s cap and resets after 30 s of
stable running; after too many quick exits in a row the supervisor gives up (state ``failed``).

>>> backoff = RestartBackoff()
>>> [backoff.delay(n) for n in range(1, 11)]
[0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 15.0, 15.0]
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartBackoff:
    """When to restart a job that exited, and when to stop trying."""

    initial_seconds: float = 0.1
    factor: float = 2.0
    cap_seconds: float = 15.0
    stable_seconds: float = 30.0
    max_quick_exits: int = 10

    def is_quick(self, uptime_seconds: float) -> bool:
        """A run shorter than ``stable_seconds`` counts toward giving up."""
        return uptime_seconds < self.stable_seconds

    def delay(self, quick_exits: int) -> float:
        """Seconds to wait before the next start, given the quick exits in a row (0 after a stable run)."""
        steps = max(quick_exits - 1, 0)
        return round(min(self.cap_seconds, self.initial_seconds * self.factor**steps), 6)

    def gives_up(self, quick_exits: int) -> bool:
        return quick_exits >= self.max_quick_exits
