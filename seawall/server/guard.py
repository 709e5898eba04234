"""A route's guard: its policy engine plus the answers to refused requests (stale, fallback).

:class:`RouteGuard` holds what one route key needs; :class:`GuardTable` finds the guard for a
request, by raw path or by a framework's route template. Guards exist per configured key or
router template, never per raw URL. The protocol runners live in :mod:`seawall.asgi.guard`
and :mod:`seawall.wsgi.guard`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from seawall.clock import Clock
from seawall.config.policies import policy_of
from seawall.config.routes import RouteTable
from seawall.config.schema import PolicySettings
from seawall.config.settings import Settings
from seawall.context.correlation import get_correlation_id
from seawall.errors.exceptions import SeawallRejection
from seawall.observability.events import (
    BreakerStateChanged,
    BulkheadSaturated,
    EventBus,
    FallbackFailed,
    FallbackServed,
    StaleServed,
)
from seawall.resilience.breaker import BreakerEvent
from seawall.resilience.engine import PolicyEngine
from seawall.resilience.registry import BreakerRegistry
from seawall.server.fallback import FallbackRequest, render_answer
from seawall.server.response import Rendered
from seawall.server.stale import Recording, RequestHeader, StaleStore

__all__ = ["GuardTable", "RouteGuard"]


class RouteGuard:
    """The policy of one route key, ready to run requests."""

    __slots__ = ("answers", "engine", "events", "fallback", "key", "stale")

    def __init__(
        self,
        key: str | None,
        policy: PolicySettings,
        *,
        classify: Callable[[BaseException], str] | None,
        clock: Clock | None,
        events: EventBus,
    ) -> None:
        self.key = key
        self.events = events
        self.fallback = policy.fallback
        self.engine = PolicyEngine(
            key,
            policy,
            classify=classify,
            clock=clock,
            on_transition=self._transition,
            on_saturated=self._saturated,
        )
        age = policy.stale_if_error
        self.stale = None if age is None else StaleStore(age, clock=clock)
        self.answers = self.fallback is not None or self.stale is not None  # for refused calls

    def _transition(self, event: BreakerEvent) -> None:
        if self.events.wants(BreakerStateChanged):
            self.events.publish(
                BreakerStateChanged(
                    event.name, str(event.old_state), str(event.new_state), event.reason
                )
            )

    def _saturated(self) -> None:
        bulkhead = self.engine.bulkhead
        if bulkhead is not None and self.events.wants(BulkheadSaturated):
            self.events.publish(BulkheadSaturated(self.key, bulkhead.max_concurrency))

    def recording(
        self, method: str, url: str, request: RequestHeader, headers: Iterable[tuple[str, str]]
    ) -> Recording | None:
        """A recording of a ``200`` answer to a ``GET`` for the stale store; ``None`` on routes
        without ``stale_if_error`` and for other methods."""
        stale = self.stale
        if stale is None or method != "GET":
            return None
        return Recording(stale, url, request, list(headers))

    def refusal(
        self, rejection: SeawallRejection, method: str, path: str, url: str, request: RequestHeader
    ) -> Rendered | None:
        """The answer to a refused request in threads: the route's remembered response
        (stale-if-error), else its fallback's, else ``None`` to send the problem."""
        stale = self._stale(rejection, method, url, request)
        if stale is not None or self.fallback is None:
            return stale
        answer = self._call_fallback(rejection, method, path)
        if inspect.isawaitable(answer):
            close = getattr(answer, "close", None)
            if close is not None:
                close()
            self._fallback_failed(
                TypeError("a WSGI fallback must be a plain function"), rejection.reason
            )
            return None
        return self._render(answer, rejection)

    async def arefusal(
        self, rejection: SeawallRejection, method: str, path: str, url: str, request: RequestHeader
    ) -> Rendered | None:
        """:meth:`refusal` for coroutines: the fallback may be a coroutine function."""
        stale = self._stale(rejection, method, url, request)
        if stale is not None or self.fallback is None:
            return stale
        answer = self._call_fallback(rejection, method, path)
        if inspect.isawaitable(answer):
            try:
                answer = await answer
            except Exception as exc:
                self._fallback_failed(exc, rejection.reason)
                return None
        return self._render(answer, rejection)

    def _stale(
        self, rejection: SeawallRejection, method: str, url: str, request: RequestHeader
    ) -> Rendered | None:
        stale = self.stale
        if stale is None or method != "GET":
            return None
        found = stale.lookup(url, request, rejection.reason)
        if found is None:
            return None
        answer, age = found
        if self.events.wants(StaleServed):
            self.events.publish(StaleServed(self.key, rejection.reason, age))
        return answer

    def _call_fallback(self, rejection: SeawallRejection, method: str, path: str) -> Any:
        fallback = self.fallback
        if fallback is None:
            return None
        request = FallbackRequest(method, path, self.key, rejection.reason, get_correlation_id())
        try:
            return fallback(request)
        except Exception as exc:
            self._fallback_failed(exc, rejection.reason)
            return None

    def _render(self, answer: object, rejection: SeawallRejection) -> Rendered | None:
        """A fallback's answer as a response; ``None`` (or a bad answer) means: the problem."""
        if answer is None:
            return None
        rendered = render_answer(answer, rejection.reason)
        if rendered is None:
            self._fallback_failed(
                TypeError(f"fallback returned {type(answer).__name__}"), rejection.reason
            )
        elif self.events.wants(FallbackServed):
            self.events.publish(FallbackServed(self.key, rejection.reason))
        return rendered

    def _fallback_failed(self, exc: BaseException, reason: str) -> None:
        if self.events.wants(FallbackFailed):
            self.events.publish(FallbackFailed(self.key, type(exc).__qualname__, reason))


class GuardTable:
    """Finds the guard for a request: by raw path (plain apps) or router template (adapters)."""

    def __init__(
        self,
        settings: Settings,
        *,
        classify: Callable[[BaseException], str] | None = None,
        clock: Clock | None = None,
        events: EventBus,
        breakers: BreakerRegistry | None = None,
    ) -> None:
        self._settings = settings
        self.breakers = BreakerRegistry() if breakers is None else breakers
        self._classify = classify
        self._clock = clock
        self._events = events
        self.made: list[RouteGuard] = []  # every guard built, for observers (bulkhead levels)
        guards = [(key, self._make(key, policy)) for key, policy in settings.routes]
        default = self._make(None, settings.defaults)
        self._table: RouteTable[RouteGuard | None] = RouteTable(guards, default=default)
        self._by_template: dict[tuple[str, str, object], tuple[str, RouteGuard | None]] = {}
        self.empty = default is None and all(guard is None for _, guard in guards)

    def _make(self, key: str | None, policy: PolicySettings) -> RouteGuard | None:
        if policy.is_empty:
            return None
        guard = RouteGuard(
            key, policy, classify=self._classify, clock=self._clock, events=self._events
        )
        breaker = guard.engine.breaker
        if breaker is not None:
            self.breakers.add(breaker, kind="route", critical=policy.critical)
        self.made = [*self.made, guard]  # readers iterate a snapshot, lock-free
        return guard

    def for_path(self, method: str, path: str) -> tuple[str | None, RouteGuard | None]:
        """The guard of the most specific key matching a raw path (default: the defaults')."""
        return self._table.match_path(method, path)

    def for_template(
        self, method: str, template: str, view: object = None
    ) -> tuple[str, RouteGuard | None]:
        """The guard for a framework route: its settings key, or the template itself.

        Unmatched templates get their own guard from the defaults, and a view decorated with
        ``@seawall.policy`` its own merged policy: bounded by the router, not by traffic.
        """
        cache_key = (method, template, view)
        found = self._by_template.get(cache_key)
        if found is None:
            key, guard = self._table.match_template(method, template)
            own_key = f"{method} {template}"
            base = self._settings.defaults
            if key is not None:
                base = dict(self._settings.routes)[key]
            override = policy_of(view, base, f"@seawall.policy on {own_key}")
            if override is not None:
                key = key or own_key
                guard = self._make(key, override)
            elif key is None:
                key = own_key
                guard = self._make(key, base)
            found = (key, guard)
            self._by_template[cache_key] = found
        return found
