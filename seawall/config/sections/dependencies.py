"""The ``dependencies`` section: the policy of each outgoing call, by dependency name.

A dependency takes a route's policy keys (``timeout``, the bulkhead, ``breaker``, ``fallback``,
parsed by :func:`~seawall.config.sections.policy.parse_policy`) and adds what only calls have:
``hosts``, ``retry`` with its budget, ``critical``, ``recovery`` and ``dead_letter``. Route
``defaults`` do not apply: an inbound timeout says nothing about a database's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeGuard

from seawall.config.parse import Parsed, Table, or_empty, report, show
from seawall.config.schema import (
    CLASSIFICATIONS,
    JITTERS,
    BudgetSettings,
    DependencySettings,
    RecoverySettings,
    RetrySettings,
    SettingsError,
)
from seawall.config.sections.policy import parse_policy

__all__ = ["RETRY_ON", "parse_dependencies"]

POLICY_KEYS = ("timeout", "max_concurrency", "max_queue", "max_wait", "breaker", "fallback")
KEYS = (*POLICY_KEYS, "hosts", "retry", "critical", "recovery", "dead_letter")
RETRY_KEYS = ("attempts", "backoff", "max_backoff", "jitter", "on", "budget")
BUDGET_KEYS = ("ratio", "min_per_second")
RECOVERY_KEYS = ("action", "cooldown", "max_attempts", "dry_run")

RETRY_ON: tuple[str, ...] = ("rate_limit", *CLASSIFICATIONS)
"""What ``retry.on`` may list: the error classifications; ``rate_limit`` is ``rate_limited``."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def parse_dependencies(path: str, raw: object, earlier: Parsed) -> tuple[DependencySettings, ...]:
    if not isinstance(raw, Mapping):
        raise SettingsError(path, f"expected a mapping of name to policy, got {show(raw)}")
    table = Table(path, raw, [k for k in raw if isinstance(k, str)])
    found: list[DependencySettings] = []
    owners: dict[str, str] = {}
    for name, entry in raw.items():
        if not isinstance(name, str):
            continue  # reported as an unknown key by the table
        if not _NAME.fullmatch(name) or len(name) > 64:
            table.error(name, "a dependency name is 1 to 64 letters, digits, '_', '.' or '-'")
        dependency = parse_dependency(table.sub(name), name, or_empty(entry))
        for host in dependency.hosts:
            if host in owners:
                report(
                    SettingsError(
                        f"{table.sub(name)}.hosts", f"{host!r} already belongs to {owners[host]!r}"
                    )
                )
            owners.setdefault(host, name)
        found.append(dependency)
    return tuple(found)


def parse_dependency(path: str, name: str, data: object) -> DependencySettings:
    """One dependency's mapping; every key it does not set takes the built-in default."""
    s = Table(path, data, KEYS)
    policy = parse_policy(path, {k: v for k, v in s.data.items() if k in POLICY_KEYS})
    return DependencySettings(
        name=name,
        policy=policy,
        hosts=s.hosts("hosts"),
        retry=_retry(s),
        critical=s.flag("critical", False),
        recovery=_recovery(s),
        dead_letter=s.flag("dead_letter", False),
    )


def _retry(parent: Table) -> RetrySettings:
    """``retry``: unset or ``None`` never retries; a mapping retries 3 times by default."""
    if parent.get("retry") is None:
        return RetrySettings()
    s = parent.section("retry", RETRY_KEYS)
    backoff = s.number("backoff", 0.1, minimum=0)
    max_backoff = s.number("max_backoff", max(2.0, backoff), minimum=0)
    if max_backoff < backoff:
        s.error("max_backoff", f"{max_backoff} is less than backoff ({backoff})", after=["backoff"])
    on = s.strings("on") if s.has("on") else ("transient", "rate_limit")
    for item in on:
        if item not in RETRY_ON:
            s.error("on", f"{item!r} is not one of {', '.join(map(repr, RETRY_ON))}")
    budget = s.section("budget", BUDGET_KEYS)
    default = BudgetSettings()
    return RetrySettings(
        attempts=s.integer("attempts", 3, minimum=1, maximum=100),
        backoff=backoff,
        max_backoff=max_backoff,
        jitter=s.choice("jitter", "full", JITTERS),
        on=frozenset("rate_limited" if item == "rate_limit" else item for item in on),
        budget=BudgetSettings(
            ratio=budget.number("ratio", default.ratio, minimum=0, maximum=1),
            min_per_second=budget.number("min_per_second", default.min_per_second, minimum=0),
        ),
    )


def _recovery(parent: Table) -> RecoverySettings | None:
    if parent.get("recovery") is None:
        return None
    s = parent.section("recovery", RECOVERY_KEYS)
    if not s.has("action"):
        s.error("action", "name the callable to run when the breaker opens")
    raw = s.get("action")
    action = s.importable("action", raw, want="recovery action")
    if not _is_action(action):
        s.error("action", f"{show(raw)} is not callable")
        action = _no_action  # read on while collecting: the errors of the other keys
    return RecoverySettings(
        action=action,
        action_name=raw if isinstance(raw, str) else getattr(raw, "__qualname__", repr(raw)),
        cooldown=s.number("cooldown", 60.0, minimum=0, exclusive_min=True),
        max_attempts=s.integer("max_attempts", 3, minimum=1),
        dry_run=s.flag("dry_run", False),
    )


def _is_action(value: object) -> TypeGuard[Callable[[], object]]:
    return callable(value)


def _no_action() -> None:
    """Stands in for an action that is missing or not callable while collecting errors."""
