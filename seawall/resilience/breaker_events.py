"""What a circuit breaker tells its observers: its states, transition events and snapshots.

Listeners are told outside the breaker's lock; one that raises is logged by class name only
(its message may carry anything, and this log is not redacted) and the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BreakerEvent", "BreakerSnapshot", "Listener", "State", "notify"]

_log = logging.getLogger("seawall.breaker")


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    FORCED_OPEN = "forced_open"
    DISABLED = "disabled"
    METRICS_ONLY = "metrics_only"


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """One state transition, given to each listener exactly once."""

    name: str
    old_state: State
    new_state: State
    at: float
    reason: str


Listener = Callable[[BreakerEvent], object]


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """A consistent reading of one breaker, for metrics, health pages and tests."""

    name: str
    state: State
    epoch: int
    calls: int
    failures: int
    slow_calls: int
    failure_rate: float
    slow_rate: float
    consecutive_failures: int
    open_until: float | None
    seconds_to_half_open: float | None
    half_open_in_flight: int
    would_open: bool


def notify(name: str, listeners: Iterable[Listener], event: BreakerEvent) -> None:
    """Give ``event`` to each listener of breaker ``name``; a failing one does not stop the rest."""
    for listener in listeners:
        try:
            listener(event)
        except Exception as exc:
            _log.warning("breaker %r: listener %r raised %s", name, listener, type(exc).__name__)
