"""The ``defaults`` and ``routes`` sections: per-route policies and their breakers.

A route inherits every key it does not set from ``defaults``, and its breaker keys from the
default breaker; ``@seawall.policy`` overrides are parsed by the same :func:`parse_policy`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from seawall.config.parse import Parsed, Table, or_empty, show
from seawall.config.routes import parse_route_key
from seawall.config.schema import (
    BREAKER_MODES,
    FALLBACK_ON,
    TIMEOUT_MODES,
    WINDOW_TYPES,
    BreakerSettings,
    FallbackOn,
    PolicySettings,
    Routes,
    SettingsError,
)

__all__ = ["parse_breaker", "parse_defaults", "parse_policy", "parse_routes"]

BREAKER_KEYS = tuple(f.name for f in dataclasses.fields(BreakerSettings))
POLICY_KEYS = (
    "timeout", "timeout_mode", "max_concurrency", "max_queue", "max_wait", "breaker",
    "fallback", "fallback_on", "stale_if_error", "critical",
)  # fmt: skip


def parse_defaults(path: str, raw: object, earlier: Parsed) -> PolicySettings:
    return parse_policy(path, raw)


def parse_routes(path: str, raw: object, earlier: Parsed) -> Routes:
    if not isinstance(raw, Mapping):
        raise SettingsError(path, f"expected a mapping of route to policy, got {show(raw)}")
    defaults = earlier.get("defaults", PolicySettings)
    table = Table(path, raw, [k for k in raw if isinstance(k, str)])
    routes: list[tuple[str, PolicySettings]] = []
    seen: dict[tuple[object, ...], str] = {}
    for key, policy in raw.items():
        if not isinstance(key, str):
            continue  # reported as an unknown key by the table
        try:
            parsed = parse_route_key(key)
        except ValueError as exc:
            table.error(key, str(exc))  # while collecting, its policy is still read
        else:
            same = (parsed.method, parsed.segments, parsed.prefix)
            if same in seen:
                # Both compile to one alternative of the table: one would shadow the other.
                table.error(
                    key,
                    f"names the same route as {seen[same]!r} (both mean"
                    f" {parsed.method or 'any method'} {parsed.template}): keep one of them",
                )
            seen.setdefault(same, key)
        routes.append((key, parse_policy(table.sub(key), or_empty(policy), defaults)))
    return tuple(routes)


def parse_breaker(path: str, data: object, base: BreakerSettings | None = None) -> BreakerSettings:
    """Validate a breaker mapping, filling unset keys from ``base`` (or the built-in defaults)."""
    s = Table(path, data, BREAKER_KEYS)
    b = base or BreakerSettings()
    statuses = _statuses(s, b.failure_statuses)
    window_type = s.choice("window_type", b.window_type, WINDOW_TYPES)
    window = s.integer("window", b.window, minimum=1, maximum=100_000)
    open_for = s.number("open_for", b.open_for, minimum=0, exclusive_min=True)
    max_open_for = s.number(
        "max_open_for", max(b.max_open_for, open_for), minimum=0, exclusive_min=True
    )
    if max_open_for < open_for:
        s.error(
            "max_open_for", f"{max_open_for} is less than open_for ({open_for})", after=["open_for"]
        )
    minimum_calls = s.integer("minimum_calls", b.minimum_calls, minimum=1)
    if window_type == "count" and window < minimum_calls:
        # The window never holds minimum_calls outcomes, so the rate rule could never trip.
        s.error(
            "window",
            f"a count window of {window} calls never reaches minimum_calls ({minimum_calls}),"
            " so the breaker could never trip: make window at least minimum_calls",
            after=["window_type", "minimum_calls"],
        )
    rate = functools.partial(s.number, minimum=0, exclusive_min=True, maximum=1)
    return BreakerSettings(
        failure_rate=rate("failure_rate", b.failure_rate),
        slow_call_rate=rate("slow_call_rate", b.slow_call_rate),
        minimum_calls=minimum_calls,
        half_open_calls=s.integer("half_open_calls", b.half_open_calls, minimum=1),
        jitter=s.number("jitter", b.jitter, minimum=0, maximum=1),
        window_type=window_type,
        window=window,
        open_for=open_for,
        max_open_for=max_open_for,
        consecutive_failures=s.optional_integer(
            "consecutive_failures", b.consecutive_failures, minimum=1
        ),
        slow_call_duration=s.optional_number(
            "slow_call_duration", b.slow_call_duration, minimum=0, exclusive_min=True
        ),
        failure_statuses=statuses,
        mode=s.choice("mode", b.mode, BREAKER_MODES),
    )


def parse_policy(path: str, data: object, base: PolicySettings | None = None) -> PolicySettings:
    """Validate a per-route policy mapping; unset keys inherit from ``base`` (the defaults)."""
    s = Table(path, data, POLICY_KEYS)
    b = base or PolicySettings()
    breaker = _breaker(s, b.breaker)
    fallback = _fallback(s, b.fallback)
    max_concurrency = s.optional_integer("max_concurrency", b.max_concurrency, minimum=1)
    max_queue = s.integer("max_queue", b.max_queue, minimum=0)
    max_wait = s.number("max_wait", b.max_wait, minimum=0)
    if max_concurrency is None and s.has("max_queue") and max_queue:
        s.error("max_queue", "needs max_concurrency to be set", after=["max_concurrency"])
    if max_queue and not max_wait:
        s.error(
            "max_wait",
            "a queue (max_queue > 0) needs max_wait > 0, the longest wait",
            after=["max_queue"],
        )
    policy = PolicySettings(
        timeout=s.optional_number("timeout", b.timeout, minimum=0, exclusive_min=True),
        timeout_mode=s.choice("timeout_mode", b.timeout_mode, TIMEOUT_MODES),
        max_concurrency=max_concurrency,
        max_queue=max_queue,
        max_wait=max_wait,
        breaker=breaker,
        fallback=fallback,
        fallback_on=_fallback_on(s, b.fallback_on),
        stale_if_error=s.optional_number(
            "stale_if_error", b.stale_if_error, minimum=0, exclusive_min=True
        ),
        critical=s.flag("critical", b.critical),
    )
    if base is not None and s.has("fallback_on") and policy.fallback is None:
        # In the defaults it may wait for routes that set a fallback; on a route it is a mistake.
        s.error(
            "fallback_on",
            "says when the route's fallback answers, but it has no fallback",
            after=["fallback"],
        )
    refuses = policy.breaker is not None or policy.max_concurrency or policy.timeout is not None
    if base is not None and s.has("stale_if_error") and policy.stale_if_error and not refuses:
        # Inherited from the defaults it may rest unused; set on a route that never refuses, never.
        s.error(
            "stale_if_error",
            "serves the last good response while a breaker, bulkhead or timeout refuses requests,"
            " and this route has none of them",
            after=["breaker", "max_concurrency", "timeout"],
        )
    return policy


def _statuses(s: Table, default: frozenset[int]) -> frozenset[int]:
    """``failure_statuses``: the HTTP statuses that count as failures."""
    raw = s.get("failure_statuses", sorted(default))
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        s.error("failure_statuses", f"expected a list of statuses, got {show(raw)}")
        return default
    items = list(raw)  # checked before hashing: a nested list is an error, not a TypeError
    if not all(isinstance(x, int) and not isinstance(x, bool) and 100 <= x <= 599 for x in items):
        s.error("failure_statuses", f"expected HTTP statuses, got {show(raw)}")
        return default
    return frozenset(items)


def _breaker(s: Table, inherited: BreakerSettings | None) -> BreakerSettings | None:
    """``breaker``: ``None``/``False`` for none, ``True`` for the inherited (or built-in) one,
    or a mapping of keys over the inherited breaker."""
    if not s.has("breaker"):
        return inherited
    raw = s.get("breaker")
    if raw is None or raw is False:
        return None
    if raw is True:
        return inherited or BreakerSettings()
    return parse_breaker(s.sub("breaker"), raw, inherited)


def _fallback(s: Table, inherited: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """``fallback``: a callable or its dotted path, resolved at start-up; ``None`` for none."""
    if not s.has("fallback"):
        return inherited
    raw = s.get("fallback")
    if raw is None:
        return None
    found = s.importable("fallback", raw, want="fallback")
    if found is None:
        return None
    if not callable(found):
        s.error("fallback", f"{show(raw)} is not callable")
        return None
    return found


def _fallback_on(s: Table, inherited: frozenset[FallbackOn]) -> frozenset[FallbackOn]:
    """``fallback_on``: what the fallback answers: ``rejected`` (breaker, bulkhead, timeout,
    deadline refusals) and/or ``error`` (the handler's own failures answered with a 5xx)."""
    if not s.has("fallback_on"):
        return inherited
    raw = s.get("fallback_on")
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        s.error("fallback_on", f"expected a list such as ['rejected', 'error'], got {show(raw)}")
        return inherited
    chosen: set[FallbackOn] = set()
    for item in raw:
        found = next((option for option in FALLBACK_ON if item == option), None)
        if found is None:
            s.error(
                "fallback_on", f"{show(item)} is not one of {', '.join(map(repr, FALLBACK_ON))}"
            )
            return inherited
        chosen.add(found)
    if not chosen:
        s.error("fallback_on", "name at least one of 'rejected', 'error' (or drop the fallback)")
        return inherited
    return frozenset(chosen)
