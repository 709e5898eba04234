"""Monotonic clocks: the real one, and a fake that tests move by hand.

Pure logic (breakers, bulkheads, deadlines) takes a clock argument instead of calling
``time.monotonic`` itself, so its tests never sleep:

>>> clock = FakeClock()
>>> breaker = CircuitBreaker("GET /reports/{id}", clock=clock)  # doctest: +SKIP
>>> clock.advance(10.0)
10.0
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "monotonic"]


class Clock(Protocol):
    """A callable returning monotonic seconds; only differences between readings mean anything."""

    def __call__(self) -> float: ...


monotonic: Clock = time.monotonic
"""The default clock: :func:`time.monotonic`."""


class FakeClock:
    """A clock that stands still until told to move; it never goes backwards."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (not negative) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds} s)")
        self._now += seconds
        return self._now

    def set(self, t: float) -> None:
        """Jump to time ``t``, which must not be earlier than now."""
        if t < self._now:
            raise ValueError(f"a monotonic clock cannot go back (from {self._now} to {t})")
        self._now = float(t)
