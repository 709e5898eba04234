"""The manual actions on a breaker, by the names the admin API and the command use."""

from __future__ import annotations

from typing import Literal, get_args

from seawall.resilience.breaker import CircuitBreaker, State

__all__ = ["ACTIONS", "OVERRIDES", "Action", "apply_action", "is_action"]

Action = Literal["force_open", "close", "disable", "metrics_only", "reset"]
ACTIONS: tuple[Action, ...] = get_args(Action)

OVERRIDES: dict[str, State] = {
    "force_open": State.FORCED_OPEN,
    "disable": State.DISABLED,
    "metrics_only": State.METRICS_ONLY,
}
"""The actions that stay until cleared (by ``close`` or ``reset``), and the state each holds."""


def is_action(value: str) -> bool:
    """True when ``value`` names one of :data:`ACTIONS`."""
    return value in ACTIONS


def apply_action(breaker: CircuitBreaker, action: str) -> None:
    """Do ``action`` to ``breaker``; an override already in place is not entered again."""
    held = OVERRIDES.get(action)
    if held is not None and breaker.state is held:
        return
    if action == "force_open":
        breaker.force_open()
    elif action == "disable":
        breaker.disable()
    elif action == "metrics_only":
        breaker.metrics_only()
    elif action == "close":
        breaker.close()
    elif action == "reset":
        breaker.reset()
    else:
        raise ValueError(f"unknown breaker action {action!r} (known: {', '.join(ACTIONS)})")
