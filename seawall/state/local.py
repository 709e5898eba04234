"""The ``memory`` backend: nothing is shared, an action changes this process's breakers only."""

from __future__ import annotations

from seawall.resilience.registry import BreakerEntry, BreakerRegistry
from seawall.state.actions import ACTIONS, apply_action

__all__ = ["LocalState"]


class LocalState:
    """Breaker actions on one process's registry; each worker decides and is told alone."""

    backend = "memory"

    def __init__(self, registry: BreakerRegistry) -> None:
        self.registry = registry

    def command(self, name: str, action: str) -> list[BreakerEntry]:
        """Do ``action`` to every breaker called ``name``; the entries (empty: no such name)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown breaker action {action!r} (known: {', '.join(ACTIONS)})")
        entries = self.registry.named(name)
        for entry in entries:
            apply_action(entry.breaker, action)
        return entries

    def close(self) -> None:
        """Nothing to stop."""
