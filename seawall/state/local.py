"""The ``memory`` backend: nothing is shared, an action changes this process's breakers only.

A lasting action (force open, disable, metrics only) on a name is remembered until ``close`` or
``reset``, so a breaker built later under that name (a view's guard, built on its first
request) starts in it, as it would from Redis with the ``redis`` backend.
"""

from __future__ import annotations

import threading

from seawall.resilience.registry import BreakerEntry, BreakerRegistry
from seawall.state.actions import ACTIONS, OVERRIDES, apply_action

__all__ = ["LocalState"]


class LocalState:
    """Breaker actions on one process's registry; each worker decides and is told alone."""

    backend = "memory"

    def __init__(self, registry: BreakerRegistry) -> None:
        self.registry = registry
        self._overrides: dict[str, str] = {}
        self._lock = threading.Lock()
        registry.watch(self._attach)

    def command(self, name: str, action: str) -> list[BreakerEntry]:
        """Do ``action`` to every breaker called ``name``; the entries (empty: none built yet,
        a lasting action then applies when one is)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown breaker action {action!r} (known: {', '.join(ACTIONS)})")
        with self._lock:
            if action in OVERRIDES:
                self._overrides[name] = action
            else:
                self._overrides.pop(name, None)
        entries = self.registry.named(name)
        for entry in entries:
            apply_action(entry.breaker, action)
        return entries

    def _attach(self, entry: BreakerEntry) -> None:
        with self._lock:
            action = self._overrides.get(entry.name)
        if action is not None:
            apply_action(entry.breaker, action)

    def close(self) -> None:
        """Nothing to stop."""
