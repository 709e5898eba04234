"""What alerting remembers: the fingerprints already seen and the incidents in cooldown.

Behind one small interface so that several workers can share it (one notification for N
workers): :meth:`AlertMemory.claim` is an atomic "set if absent, with expiry" (``SET NX EX``).
"""

from __future__ import annotations

import threading
from typing import Protocol

from seawall.clock import Clock, monotonic

__all__ = ["AlertMemory", "MemoryAlertMemory", "trimmed"]


class AlertMemory(Protocol):
    """Claims with an expiry, shared by whoever must not notify twice."""

    def claim(self, key: str, ttl: float) -> bool:
        """True for the first caller since ``key`` was last claimed and expired or released."""
        ...

    def release(self, key: str) -> None:
        """Forget ``key`` now (an incident resolved: the next one notifies again)."""
        ...


class MemoryAlertMemory:
    """One process's memory: claims in a dict, at most ``max_keys`` (expired ones go first)."""

    def __init__(self, *, clock: Clock = monotonic, max_keys: int = 10_000) -> None:
        self._clock = clock
        self._max = max_keys
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            until = self._until.get(key)
            if until is not None and until > now:
                return False
            if len(self._until) >= self._max:
                self._expire(now)
            self._until[key] = now + ttl
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._until.pop(key, None)

    def _expire(self, now: float) -> None:
        self._until = trimmed(self._until, now)

    def __len__(self) -> int:
        return len(self._until)


def trimmed(until: dict[str, float], now: float) -> dict[str, float]:
    """``until`` without its expired keys, and without its earliest-expiring tenth when every
    key is live: a full table of claims stays the same size instead of growing."""
    kept = {k: t for k, t in until.items() if t > now}
    if len(kept) >= len(until) * 0.9:
        cut = sorted(kept.values())[len(kept) // 10]
        kept = {k: t for k, t in kept.items() if t > cut}
    return kept
