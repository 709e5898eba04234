"""A retry budget: retries may add at most ``ratio`` of a dependency's calls, plus a floor.

Retries without a budget multiply the load on a dependency that is already failing: with three
attempts each, a dead one gets three times its traffic. A budget caps the extra load, as
Finagle's ``RetryBudget`` and Envoy's retry budget do:

* every call deposits ``ratio`` of a retry, and deposits expire after ``window`` seconds (in
  one-second buckets), so a quiet hour cannot fund a storm later;
* ``min_per_second`` more retries per second are always allowed (a token bucket that starts
  empty and holds at most one second's worth), so a dependency called rarely still gets some.

Over any run, retries <= ratio x calls + min_per_second x elapsed seconds, from the first
instant: the floor starts empty. The price: a budget made a moment ago has nothing yet (with
``min_per_second: 5``, a first retry after 0.2 s, or after 1 / ratio calls). Seawall makes its
budgets at install, well before the first request. Thread-safe; the clock is injected, so
tests replay a storm without sleeping. A deposit within the current second takes no lock: it
steps an ``itertools.count`` (one atomic C call), folded into the buckets under the lock when
the second changes or a retry asks; a deposit racing that fold can be lost, which only makes
the budget stricter.

>>> budget = RetryBudget(BudgetSettings(ratio=0.1, min_per_second=5))
>>> budget.deposit()        # once per call (not per attempt)
>>> budget.withdraw()       # before each retry: False means the retry is refused
"""

from __future__ import annotations

import threading
from itertools import count
from typing import Final

from seawall.clock import Clock, monotonic
from seawall.config.schema import BudgetSettings

__all__ = ["RetryBudget"]

# Bound once: compiled code looks the builtin up by name on every call otherwise (deposit's
# next() was a builtins-module attribute read per call).
_next: Final = next


class RetryBudget:
    """Calls and retries of the last ``window`` seconds, and the floor's tokens."""

    __slots__ = (
        "_calls", "_clock", "_floor", "_floor_at", "_lock", "_rate", "_ratio", "_retries",
        "_tick", "_total_calls", "_total_retries", "_unfolded", "window",
    )  # fmt: skip

    def __init__(
        self, settings: BudgetSettings, *, clock: Clock | None = None, window: int = 10
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 second, got {window}")
        self.window = window
        self._ratio = settings.ratio
        self._rate = settings.min_per_second
        self._clock = clock or monotonic
        self._lock = threading.Lock()
        self._calls = [0] * window  # per one-second bucket, indexed by tick % window
        self._retries = [0] * window
        self._total_calls = 0  # sums over the live buckets
        self._total_retries = 0
        self._tick = int(self._clock())
        self._unfolded = count()  # deposits of ``_tick`` not yet in the buckets
        self._floor = 0.0
        self._floor_at = self._clock()

    def deposit(self) -> None:
        """Count one call (its first attempt): lock-free within the current second."""
        self.deposit_at(self._clock())

    def deposit_at(self, now: float) -> None:
        """:meth:`deposit` with a reading of the budget's clock the caller already took."""
        tick = int(now)
        if tick == self._tick:
            _next(self._unfolded)
            return
        with self._lock:  # once a second: the second changed
            if tick != self._tick:
                self._advance(tick)
            self._calls[tick % self.window] += 1
            self._total_calls += 1

    def withdraw(self) -> bool:
        """Take one retry from the budget; False (and nothing taken) when it is spent."""
        now = self._clock()
        tick = int(now)
        with self._lock:
            if tick != self._tick:
                self._advance(tick)
            else:
                self._fold()
            if self._total_retries + 1 <= self._ratio * self._total_calls:
                self._retries[tick % self.window] += 1
                self._total_retries += 1
                return True
            # The floor refills continuously and holds one second's worth at most.
            self._floor = min(self._rate, self._floor + (now - self._floor_at) * self._rate)
            self._floor_at = now
            if self._floor >= 1.0:
                self._floor -= 1.0
                return True
            return False

    def _fold(self) -> None:
        """Move the lock-free deposits into the current second's bucket (lock held)."""
        unfolded, self._unfolded = self._unfolded, count()
        made = _next(unfolded)  # the count of deposits it took: it started at 0
        self._calls[self._tick % self.window] += made
        self._total_calls += made

    def _advance(self, tick: int) -> None:
        """Fold, then empty the buckets that left the window (lock held)."""
        self._fold()
        window = self.window
        old = self._tick
        self._tick = tick
        if tick - old >= window:
            self._calls = [0] * window
            self._retries = [0] * window
            self._total_calls = self._total_retries = 0
            return
        for t in range(old + 1, tick + 1):
            i = t % window
            self._total_calls -= self._calls[i]
            self._total_retries -= self._retries[i]
            self._calls[i] = self._retries[i] = 0

    @property
    def available(self) -> float:
        """Retries the ratio part would allow right now (for tests and health pages)."""
        with self._lock:
            tick = int(self._clock())
            if tick != self._tick:
                self._advance(tick)
            else:
                self._fold()
            return max(0.0, self._ratio * self._total_calls - self._total_retries)
