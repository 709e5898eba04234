"""Where breaker state lives: in each process (``memory``, the default) or shared on Redis.

:func:`open_state` builds the backend the ``state`` settings name; both take the same breaker
actions (:data:`~seawall.state.actions.ACTIONS`) through ``command(name, action)``.
"""

from __future__ import annotations

from typing import Protocol

from seawall.clock import Clock
from seawall.config.schema import StateSettings
from seawall.observability.alerts.memory import AlertMemory
from seawall.observability.events import EventBus
from seawall.resilience.registry import BreakerEntry, BreakerRegistry
from seawall.state.actions import ACTIONS, Action
from seawall.state.local import LocalState

__all__ = ["ACTIONS", "Action", "LocalState", "StateBackend", "alert_memory", "open_state"]


class StateBackend(Protocol):
    """What ``Pipeline.state`` is, whichever backend the settings name."""

    @property
    def backend(self) -> str: ...

    def command(self, name: str, action: str) -> list[BreakerEntry]:
        """Do ``action`` to every breaker called ``name`` (in every worker, when shared)."""
        ...

    def close(self) -> None:
        """Stop background work."""
        ...


def open_state(
    settings: StateSettings, registry: BreakerRegistry, events: EventBus, *, clock: Clock | None
) -> StateBackend:
    """The backend ``settings.backend`` names, attached to every breaker of ``registry``."""
    if settings.backend == "redis":
        from seawall.state.shared import RedisState  # needs redis-py, an extra

        return RedisState(settings, registry, events, clock=clock)
    return LocalState(registry)


def alert_memory(state: StateBackend) -> AlertMemory | None:
    """The alert claims every worker shares (the alert worker makes them): on Redis with the
    redis backend, else ``None`` (each process's own memory decides alone)."""
    from seawall.state.alert_memory import RedisAlertMemory
    from seawall.state.shared import RedisState

    if not isinstance(state, RedisState):
        return None
    return RedisAlertMemory(state)
