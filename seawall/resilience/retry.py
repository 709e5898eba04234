"""When to try a call again: exponential backoff with jitter, ``Retry-After`` and the deadline.

Pure logic: randomness comes in as an argument, time as the seconds left. A retry starts only
when the error's classification is one the policy retries, tries remain, and its backoff ends
before the deadline; the budget (:mod:`seawall.resilience.budget`) has the last word.

>>> backoff = Backoff(RetrySettings(attempts=3, backoff=0.1, max_backoff=2.0))
>>> backoff.delay(1, retry_after=None, random=lambda: 0.5)  # after the first failure
0.05
"""

from __future__ import annotations

import math
from collections.abc import Callable

from seawall.config.schema import RetrySettings

__all__ = ["Backoff"]


class Backoff:
    """The waits between attempts: ``backoff * 2**(n-1)`` capped at ``max_backoff``, jittered.

    ``full`` jitter draws from ``[0, wait)`` (spreads synchronized callers best), ``equal``
    from ``[wait/2, wait)``, ``none`` waits exactly. A server's ``Retry-After`` replaces the
    computed wait, still capped at ``max_backoff``.
    """

    __slots__ = ("_base", "_cap", "_jitter", "attempts", "on")

    def __init__(self, settings: RetrySettings) -> None:
        self.attempts = settings.attempts
        self.on = settings.on
        self._base = settings.backoff
        self._cap = settings.max_backoff
        self._jitter = settings.jitter

    def delay(self, attempt: int, retry_after: float | None, random: Callable[[], float]) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first try)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self._cap)
        # 2.0**n overflows a float past n ~ 1024; attempts are capped far below by settings.
        wait = min(self._cap, self._base * 2.0 ** (attempt - 1))
        if self._jitter == "full":
            return wait * random()
        if self._jitter == "equal":
            return wait * (0.5 + 0.5 * random())
        return wait

    def retries(self, classification: str, attempt: int) -> bool:
        """True when a failure of ``classification`` after ``attempt`` tries may be retried."""
        return attempt < self.attempts and classification in self.on

    @staticmethod
    def fits(delay: float, remaining: float | None) -> bool:
        """True when a wait of ``delay`` ends before the deadline (``None``: there is none)."""
        return remaining is None or (delay < remaining and not math.isclose(delay, remaining))
