"""A cheap estimate of each dead-letter queue's depth, for the ``DeadLetterStored`` event.

Counting the store on every put would cost a query per failure (a Redis round trip, a SQLite
scan); instead the store's counts are sampled at most once per ``interval`` and the puts since
are added in memory. Replays and purges lower the estimate at the next sample, so a drained
queue reads high for up to a minute; a put never reads low.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from seawall.clock import Clock, monotonic

__all__ = ["DepthEstimate"]

SAMPLE_EVERY = 60.0
"""Seconds between two counts of the store."""


class DepthEstimate:
    """``after_put(queue)``: the queue's depth, the stored entry included."""

    def __init__(
        self,
        count: Callable[[], dict[str, int]],
        *,
        interval: float = SAMPLE_EVERY,
        clock: Clock = monotonic,
    ) -> None:
        self._count = count
        self._interval = interval
        self._clock = clock
        self._sampled: dict[str, int] = {}
        self._since: dict[str, int] = {}
        self._at: float | None = None
        self._lock = threading.Lock()

    def after_put(self, queue: str) -> int:
        now = self._clock()
        with self._lock:
            if self._at is None or now - self._at >= self._interval:
                self._at = now
                self._since = {}
                self._sampled = self._count()  # counts the entry just stored
                return self._sampled.get(queue, 0)
            since = self._since[queue] = self._since.get(queue, 0) + 1
            return self._sampled.get(queue, 0) + since
