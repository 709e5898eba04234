"""The named circuit breakers of one app, routes' and dependencies' alike.

Readiness, metrics and the admin API read breakers from here instead of walking the guard
table: a breaker is registered when its guard or dependency is built, under the name its
events carry (the route key, or the dependency's name).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from seawall.resilience.breaker import CircuitBreaker

__all__ = ["BreakerEntry", "BreakerRegistry", "Kind"]

Kind = Literal["route", "dependency"]


@dataclass(frozen=True, slots=True)
class BreakerEntry:
    """One registered breaker; ``critical`` ones fail readiness while open."""

    name: str
    breaker: CircuitBreaker
    kind: Kind
    critical: bool = False


class BreakerRegistry:
    """Breakers by name, safe to add to from any thread while others read.

    Names are not always unique: two views decorated with ``@seawall.policy`` under one route
    key each get a breaker of that key's name, so a name can hold several breakers.
    """

    def __init__(self) -> None:
        self._entries: list[BreakerEntry] = []
        self._watchers: tuple[Callable[[BreakerEntry], object], ...] = ()
        self._lock = threading.Lock()

    def watch(self, watcher: Callable[[BreakerEntry], object]) -> None:
        """Call ``watcher(entry)`` for every breaker registered so far and each one added later
        (shared state attaches itself to breakers built after it, as views are on first use)."""
        with self._lock:
            self._watchers = (*self._watchers, watcher)
            entries = self._entries
        for entry in entries:
            watcher(entry)

    def add(self, breaker: CircuitBreaker, *, kind: Kind, critical: bool = False) -> BreakerEntry:
        """Register ``breaker`` under its name (once: a second add returns the first entry)."""
        with self._lock:
            for entry in self._entries:
                if entry.breaker is breaker:
                    return entry
            entry = BreakerEntry(breaker.name, breaker, kind, critical)
            self._entries = [*self._entries, entry]  # readers iterate a snapshot, lock-free
            watchers = self._watchers
        for watcher in watchers:
            watcher(entry)
        return entry

    def named(self, name: str) -> list[BreakerEntry]:
        """Every breaker registered under ``name`` (empty when none is)."""
        return [entry for entry in self._entries if entry.name == name]

    def __iter__(self) -> Iterator[BreakerEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
