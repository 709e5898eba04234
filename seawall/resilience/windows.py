"""Sliding windows of call outcomes for :mod:`seawall.resilience.breaker`: by count or by time.

Both keep running totals (``calls``, ``failures``, ``slow``) so recording and reading are O(1)
and allocate nothing. They are not thread-safe: the breaker calls them under its lock.
"""

from __future__ import annotations

import math
from typing import Final

from seawall.clock import Clock

__all__ = ["UNREAD", "CountWindow", "TimeWindow", "Window"]

UNREAD: Final = -math.inf
"""A clock reading not taken: :meth:`Window.record` reads the clock itself if it needs one."""

_CALL = 1
_FAILED = 2
_SLOW = 4


class Window:
    """The running totals both windows keep. A common base rather than a union, so compiled
    callers read the totals and call ``record`` directly (through a union each was a lookup
    by name, about 100 instructions per call's outcome)."""

    __slots__ = ("calls", "failures", "slow")

    def __init__(self) -> None:
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def record(self, failed: bool, slow: bool, now: float = UNREAD) -> None:
        """Add one outcome; ``now`` is a reading of the window's clock, if the caller has one."""
        raise NotImplementedError  # pragma: no cover (both windows define it)

    def expire(self) -> None:
        """Drop outcomes that aged out; call before reading the totals (a count window: none)."""

    def reset(self) -> None:
        """Forget every outcome."""
        raise NotImplementedError  # pragma: no cover (both windows define it)


class CountWindow(Window):
    """The outcomes of the last ``size`` calls, in a ring buffer of one byte per call."""

    __slots__ = ("_outcomes", "_pos", "_size")

    def __init__(self, size: int) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"a count window holds at least one call, not {size}")
        self._size = size
        self._outcomes = bytearray(size)
        self._pos = 0

    def record(self, failed: bool, slow: bool, now: float = UNREAD) -> None:
        """Add one outcome, evicting the oldest once the window is full (``now`` unused)."""
        pos = self._pos
        old = self._outcomes[pos]
        if old:
            self.calls -= 1
            if old & _FAILED:
                self.failures -= 1
            if old & _SLOW:
                self.slow -= 1
        code = _CALL
        if failed:
            code |= _FAILED
            self.failures += 1
        if slow:
            code |= _SLOW
            self.slow += 1
        self.calls += 1
        self._outcomes[pos] = code
        pos += 1
        self._pos = 0 if pos == self._size else pos

    def reset(self) -> None:
        """Forget every outcome."""
        self._outcomes[:] = bytes(self._size)
        self._pos = self.calls = self.failures = self.slow = 0


class TimeWindow(Window):
    """The outcomes of the last ``seconds`` seconds, in a ring of one-second buckets.

    A bucket is cleared (and its counts taken off the totals) when the clock first enters a
    second that maps onto it again, so old outcomes leave the totals exactly on time.
    """

    __slots__ = (
        "_bucket_calls",
        "_bucket_failures",
        "_bucket_slow",
        "_clock",
        "_head",
        "_head_end",
        "_index",
        "_size",
    )

    def __init__(self, seconds: int, clock: Clock) -> None:
        super().__init__()
        if seconds < 1:
            raise ValueError(f"a time window spans at least one second, not {seconds}")
        self._size = seconds
        self._clock = clock
        self._bucket_calls = [0] * seconds
        self._bucket_failures = [0] * seconds
        self._bucket_slow = [0] * seconds
        self._head = int(clock())  # the newest second the ring holds
        self._head_end = self._head + 1.0  # comparing floats beats int() on every record
        self._index = self._head % seconds

    def record(self, failed: bool, slow: bool, now: float = UNREAD) -> None:
        """Add one outcome to the current second's bucket (``now``: read here when UNREAD)."""
        if now == UNREAD:
            now = self._clock()
        if now >= self._head_end:
            self._advance(int(now))
        index = self._index
        self._bucket_calls[index] += 1
        self.calls += 1
        if failed:
            self._bucket_failures[index] += 1
            self.failures += 1
        if slow:
            self._bucket_slow[index] += 1
            self.slow += 1

    def expire(self) -> None:
        """Drop the buckets that fell out of the window; call before reading the totals."""
        now = self._clock()
        if now >= self._head_end:
            self._advance(int(now))

    def reset(self) -> None:
        """Forget every outcome."""
        size = self._size
        self._bucket_calls[:] = [0] * size
        self._bucket_failures[:] = [0] * size
        self._bucket_slow[:] = [0] * size
        self._set_head(int(self._clock()))
        self.calls = self.failures = self.slow = 0

    def _advance(self, second: int) -> None:
        # Clear every bucket between the old head and the new one (at most the whole ring).
        size = self._size
        start = max(self._head + 1, second - size + 1)
        for absolute in range(start, second + 1):
            index = absolute % size
            calls = self._bucket_calls[index]
            if calls:
                self.calls -= calls
                self.failures -= self._bucket_failures[index]
                self.slow -= self._bucket_slow[index]
                self._bucket_calls[index] = 0
                self._bucket_failures[index] = 0
                self._bucket_slow[index] = 0
        self._set_head(second)

    def _set_head(self, second: int) -> None:
        self._head = second
        self._head_end = second + 1.0
        self._index = second % self._size
