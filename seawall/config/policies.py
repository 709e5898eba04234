"""``@seawall.policy(...)``: per-view policy overrides in code, read by the framework adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from seawall.config.schema import PolicySettings
from seawall.config.sections.policy import parse_policy

__all__ = ["policy", "policy_of"]

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__seawall_policy__"


def policy(**overrides: Any) -> Callable[[F], F]:
    """Attach policy keys (``timeout``, ``breaker``, ``max_concurrency``, ...) to a view.

    The keys are those of a route in the settings; they are validated at once and win over
    the settings for that view.

    >>> @seawall.policy(timeout=2, breaker={"failure_rate": 0.5})
    ... def report(request): ...
    """
    parse_policy("policy()", overrides)  # fail at import time, naming the bad key

    def attach(view: F) -> F:
        setattr(view, ATTRIBUTE, dict(overrides))
        return view

    return attach


def policy_of(view: object, base: PolicySettings, where: str) -> PolicySettings | None:
    """The policy of ``view`` merged over ``base``, or ``None`` when the view has no overrides."""
    overrides: Mapping[str, Any] | None = getattr(view, ATTRIBUTE, None)
    if overrides is None:
        return None
    return parse_policy(where, overrides, base)
