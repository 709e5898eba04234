"""One dependency at run time: its policy engine, retries with a budget, fallback and events.

Every way of calling a dependency (the decorator, ``call``/``acall``, the ``with`` block, the
httpx transports) goes through the same steps, which live here:

1. **Admission** (:meth:`Dependency.enter`, :meth:`Dependency.aenter`): a request deadline that
   has passed refuses the call (:class:`~seawall.errors.exceptions.DeadlineExceededError`)
   before anything runs; then the bulkhead and the breaker of the engine.
2. **The attempt's time**: the smaller of ``timeout`` and the request's
   :func:`~seawall.context.deadline.remaining`; async attempts are cancelled at it, sync ones
   see it through ``remaining()``.
3. **Retry or not** (:meth:`Dependency.next_delay`): only listed classifications, only while
   attempts remain, only when the backoff ends before the deadline, only with budget left.
   A refused retry gives the caller the last error (or answer) at once.
4. **Events**: the call's outcome, each retry and refused retry, each failed attempt.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from seawall.client.classify import Classifier, is_timeout
from seawall.clock import Clock, monotonic
from seawall.config.schema import DependencySettings
from seawall.context.deadline import current_deadline, remaining
from seawall.errors.exceptions import DeadlineExceededError, SeawallRejection
from seawall.errors.problems import ProblemRegistry
from seawall.observability.events import (
    DependencyBreakerChanged,
    DependencyCalled,
    DependencyFailed,
    DependencyRetry,
    EventBus,
)
from seawall.resilience.breaker import BreakerEvent, CircuitBreaker
from seawall.resilience.budget import RetryBudget
from seawall.resilience.engine import Admission, PolicyEngine
from seawall.resilience.retry import Backoff
from seawall.resilience.timeouts import Timeout

__all__ = ["Dependency", "FallbackCall"]

R = TypeVar("R")

_DEFAULT_FAILURE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class FallbackCall:
    """What a dependency's ``fallback`` is called with: the call that was refused or failed.

    ``reason`` is ``circuit_open``, ``bulkhead_full``, ``deadline_exceeded``, ``timeout`` or
    ``failure``; ``error`` what the caller would have got.
    """

    dependency: str
    reason: str
    error: BaseException
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    attempts: int


class Dependency:
    """The policy of one named dependency, built from its settings; see the module docstring.

    ``clock`` times the breaker, bulkhead, budget and durations; ``sleep`` waits between sync
    attempts (``asyncio.sleep`` waits between async ones); ``random`` draws the jitter.
    """

    __slots__ = (
        "_clock", "_random", "_sleep", "backoff", "breaker", "budget", "classifier", "critical",
        "engine", "events", "fallback", "hosts", "name", "recovery", "settings", "timeout",
    )  # fmt: skip

    def __init__(
        self,
        settings: DependencySettings,
        *,
        problems: ProblemRegistry,
        events: EventBus,
        clock: Clock | None = None,
        sleep: Callable[[float], object] | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        policy = settings.policy
        self.name = settings.name
        self.settings = settings
        self.critical = settings.critical
        self.hosts = settings.hosts
        self.events = events
        self._clock: Clock = clock or monotonic
        self._sleep = sleep or time.sleep
        self._random = random or _random.random
        statuses = policy.breaker.failure_statuses if policy.breaker else _DEFAULT_FAILURE_STATUSES
        self.classifier = Classifier(problems, statuses)
        self.engine = PolicyEngine(
            settings.name,
            policy,
            classify=self.classifier.verdict,
            clock=clock,
            on_transition=self._transition,
        )
        self.breaker: CircuitBreaker | None = self.engine.breaker
        self.timeout = policy.timeout
        self.fallback = policy.fallback
        self.backoff = Backoff(settings.retry)
        self.budget = (
            RetryBudget(settings.retry.budget, clock=clock) if settings.retry.attempts > 1 else None
        )
        self.recovery: Any = None
        if settings.recovery is not None:
            from seawall.client.recovery import Recovery

            self.recovery = Recovery(settings.name, settings.recovery, events, clock=clock)

    def __repr__(self) -> str:
        return f"<Dependency {self.name!r}>"

    # -- admission -----------------------------------------------------------------------------

    def enter(self) -> Admission:
        """Admit one sync attempt: deadline, bulkhead, breaker; the attempt's deadline starts."""
        deadline = current_deadline()
        if deadline is not None and deadline.clock() >= deadline.at:
            raise DeadlineExceededError(self.name)
        return self.engine.enter()

    async def aenter(self) -> Admission:
        """Admit one async attempt (a queued wait never blocks the loop); see :meth:`seconds`."""
        deadline = current_deadline()
        if deadline is not None and deadline.clock() >= deadline.at:
            raise DeadlineExceededError(self.name)
        return await self.engine.aenter(deadline=False)

    def seconds(self) -> float | None:
        """The attempt's time: the smaller of ``timeout`` and the request's time left."""
        left = remaining()
        timeout = self.timeout
        if left is None:
            return timeout
        return left if timeout is None or left < timeout else timeout

    # -- retries -------------------------------------------------------------------------------

    def count_call(self) -> None:
        """A call begins: it funds ``ratio`` of a retry in the budget."""
        if self.budget is not None:
            self.budget.deposit()

    def next_delay(
        self, classification: str, attempt: int, retry_after: float | None = None
    ) -> float | None:
        """The wait before the next attempt, or ``None``: no retry (the caller gets the last
        error or answer). Publishes the retry, or why it was refused."""
        backoff = self.backoff
        if not backoff.retries(classification, attempt):
            return None
        delay = backoff.delay(attempt, retry_after, self._random)
        if not backoff.fits(delay, remaining()):
            self.retry_event("deadline", attempt, delay, classification)
            return None
        assert self.budget is not None  # attempts > 1 always has one
        if not self.budget.withdraw():
            self.retry_event("budget_exhausted", attempt, delay, classification)
            return None
        self.retry_event("retried", attempt, delay, classification)
        return delay

    def retry_event(self, outcome: str, attempt: int, delay: float, classification: str) -> None:
        events = self.events
        if events.wants(DependencyRetry):
            events.publish(DependencyRetry(self.name, outcome, attempt, delay, classification))

    # -- outcomes ------------------------------------------------------------------------------

    def started(self) -> float | None:
        """The clock reading a call's duration starts from (``None`` when nobody listens)."""
        return self._clock() if self.events.wants(DependencyCalled) else None

    def ended(self, outcome: str, attempts: int, started: float | None, error: str | None) -> None:
        """Publish how a call ended (a :class:`~seawall.observability.events.DependencyCalled`)."""
        if started is not None:
            duration = self._clock() - started
            self.events.publish(DependencyCalled(self.name, outcome, attempts, duration, error))

    def failed_outcome(self, exc: BaseException, attempts: int) -> str:
        """``rejected``, ``timeout`` or ``failure`` for a call that ended with ``exc``."""
        if is_timeout(exc):
            return "timeout"
        if isinstance(exc, SeawallRejection):
            return "rejected"
        return "failure"

    def _transition(self, event: BreakerEvent) -> None:
        events = self.events
        if events.wants(DependencyBreakerChanged):
            events.publish(
                DependencyBreakerChanged(
                    self.name, event.old_state.value, event.new_state.value, event.reason,
                    self.critical,
                )
            )  # fmt: skip
        if self.recovery is not None:
            self.recovery.on_transition(event)

    # -- whole calls ---------------------------------------------------------------------------

    def call(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Run ``fn(*args, **kwargs)`` under the policy, with retries; see the module docstring."""
        started = self.started()
        self.count_call()
        attempt = 0
        errors: tuple[BaseException, ...] = ()
        while True:
            attempt += 1
            try:
                admission = self.enter()
            except SeawallRejection as rejection:
                refused: R = self._refused(rejection, errors, fn, args, kwargs, attempt, started)
                return refused
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                admission.finish(None, exc)
                errors += (exc,)
                delay = self._after_error(exc, errors, fn, args, kwargs, attempt)
                if delay is None:
                    given: R = self._give_up(exc, fn, args, kwargs, attempt, started)
                    return given
                self._sleep(delay)
                continue
            except BaseException as exc:
                admission.finish(None, exc)
                raise
            admission.finish(None, None)
            if started is not None:
                self.ended("success", attempt, started, None)
            return result

    async def acall(self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """Await ``fn(*args, **kwargs)`` under the policy, each attempt cancelled at its time."""
        started = self.started()
        self.count_call()
        attempt = 0
        errors: tuple[BaseException, ...] = ()
        while True:
            attempt += 1
            try:
                admission = await self.aenter()
            except SeawallRejection as rejection:
                refused_async: R = await _resolved(
                    self._refused(rejection, errors, fn, args, kwargs, attempt, started)
                )
                return refused_async
            try:
                seconds = self.seconds()
                if seconds is None:
                    result = await fn(*args, **kwargs)
                else:
                    async with Timeout(seconds, self.name):
                        result = await fn(*args, **kwargs)
            except Exception as exc:
                admission.finish(None, exc)
                errors += (exc,)
                delay = self._after_error(exc, errors, fn, args, kwargs, attempt)
                if delay is None:
                    given_async: R = await _resolved(
                        self._give_up(exc, fn, args, kwargs, attempt, started)
                    )
                    return given_async
                await asyncio.sleep(delay)
                continue
            except BaseException as exc:
                admission.finish(None, exc)
                raise
            admission.finish(None, None)
            if started is not None:
                self.ended("success", attempt, started, None)
            return result

    def _after_error(
        self,
        exc: Exception,
        errors: tuple[BaseException, ...],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempt: int,
    ) -> float | None:
        """A failed attempt: the wait before the next one, or ``None``; publishes the failure."""
        delay = self.next_delay(self.classifier.classify(exc), attempt)
        events = self.events
        if events.wants(DependencyFailed):
            events.publish(
                DependencyFailed(self.name, delay is None, fn, args, kwargs, attempt, errors)
            )
        return delay

    def _refused(
        self,
        rejection: SeawallRejection,
        errors: tuple[BaseException, ...],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempt: int,
        started: float | None,
    ) -> Any:
        """Admission refused attempt ``attempt``: a retry gives up with the last error, a first
        attempt goes to the fallback or raises the rejection."""
        if errors:
            last = errors[-1]
            self.retry_event("rejected", attempt - 1, 0.0, self.classifier.classify(last))
            return self._give_up(last, fn, args, kwargs, attempt - 1, started)
        return self._give_up(rejection, fn, args, kwargs, 0, started)

    def _give_up(
        self,
        exc: BaseException,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempts: int,
        started: float | None,
    ) -> Any:
        """The call failed for good: the fallback's value, or ``exc`` raised."""
        fallback = self.fallback
        if fallback is not None and self.classifier.verdict(exc) == "failure":
            reason = exc.reason if isinstance(exc, SeawallRejection) else "failure"
            if is_timeout(exc):
                reason = "timeout"
            value = fallback(FallbackCall(self.name, reason, exc, fn, args, kwargs, attempts))
            self.ended("fallback", attempts, started, type(exc).__name__)
            return value
        self.ended(self.failed_outcome(exc, attempts), attempts, started, type(exc).__name__)
        raise exc


async def _resolved(value: Any) -> Any:
    """A fallback's value, awaited when an async fallback returned a coroutine."""
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
