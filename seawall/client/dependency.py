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
from typing import Any, Final, TypeVar

from seawall.client.classify import Classifier, is_timeout
from seawall.client.fallback import FallbackCall
from seawall.client.recovery import Recovery
from seawall.clock import Clock, monotonic
from seawall.config.schema import DependencySettings
from seawall.context.deadline import current_deadline, pop_deadline, push_deadline, remaining
from seawall.context.replaying import replaying_queue
from seawall.errors.exceptions import (
    BulkheadFullError,
    CircuitOpenError,
    DeadlineExceededError,
    SeawallRejection,
)
from seawall.errors.problems import ProblemRegistry
from seawall.observability import events as _events
from seawall.observability.events import (
    DependencyBreakerChanged,
    DependencyCalled,
    DependencyFailed,
    DependencyRequest,
    DependencyRetry,
    EventBus,
)
from seawall.resilience.breaker import BreakerEvent, CircuitBreaker, Permit
from seawall.resilience.budget import RetryBudget
from seawall.resilience.engine import Admission, PolicyEngine
from seawall.resilience.retry import Backoff
from seawall.resilience.timeouts import Timeout
from seawall.resilience.windows import UNREAD

__all__ = ["Dependency", "Refused"]

# events.SUBSCRIPTIONS in a slot of a list bound once: a module attribute read per call cost
# about 250 instructions (callgrind).
_changes: Final = _events.CHANGES

R = TypeVar("R")

_DEFAULT_FAILURE_STATUSES = frozenset({500, 502, 503, 504})


class Refused:
    """A call refused before its first attempt, and no fallback: raise ``error``."""

    __slots__ = ("error",)

    def __init__(self, error: SeawallRejection) -> None:
        self.error = error


class Dependency:
    """The policy of one named dependency, built from its settings; see the module docstring.

    ``clock`` times the breaker, bulkhead, budget and durations; ``sleep`` waits between sync
    attempts (``asyncio.sleep`` waits between async ones); ``random`` draws the jitter.
    """

    __slots__ = (
        "_clock", "_random", "_seen", "_sleep", "_wants_called", "_wants_failed",
        "backoff",
        "breaker", "budget", "classifier", "critical", "engine", "events", "failure_statuses",
        "fallback", "hosts",
        "name", "recovery", "settings", "timeout", "wants_request",
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
        self._seen = -1  # the events.SUBSCRIPTIONS that _wants_* were read at
        self._wants_called = self._wants_failed = False
        self.wants_request = False  # anyone listening to HTTP attempts; fresh after started()
        self._clock: Clock = clock or monotonic
        self._sleep = sleep or time.sleep
        self._random = random or _random.random
        statuses = policy.breaker.failure_statuses if policy.breaker else _DEFAULT_FAILURE_STATUSES
        self.classifier = Classifier(problems, statuses)
        self.failure_statuses = statuses  # the classifier's, read per answer without it
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
        self.recovery = (
            Recovery(settings.name, settings.recovery, events, clock=clock)
            if settings.recovery is not None
            else None
        )

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

    def _listening(self) -> None:
        """Read again who listens, after a subscription changed somewhere."""
        self._seen = _changes[0]
        self._wants_called = self.events.wants(DependencyCalled)
        self._wants_failed = self.events.wants(DependencyFailed)
        self.wants_request = self.events.wants(DependencyRequest)

    def started(self) -> float | None:
        """The clock reading a call's duration starts from (``None`` when nobody listens); reads
        again who listens when a subscription changed, ``wants_request`` included."""
        if self._seen != _changes[0]:
            self._listening()
        return self._clock() if self._wants_called else None

    def ended(self, outcome: str, attempts: int, started: float | None, error: str | None) -> None:
        """Publish how a call ended (a :class:`~seawall.observability.events.DependencyCalled`)."""
        if started is not None:
            duration = self._clock() - started
            self.events.publish(DependencyCalled(self.name, outcome, attempts, duration, error))

    def failed_outcome(self, exc: BaseException) -> str:
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

    def admit(self) -> Permit | SeawallRejection | None:
        """:meth:`enter` for whole calls, without raising: the breaker permit (``None``: no
        breaker) with a bulkhead slot held, or the rejection, raised in the caller's frame.

        The breaker is asked first, so an open one refuses without touching the bulkhead; a
        permit whose call then finds the bulkhead full is given back unused.
        """
        deadline = current_deadline()
        if deadline is not None and deadline.clock() >= deadline.at:
            return _rejection(_DEADLINE_EXCEEDED, self.name, None)
        permit = self._permit()
        if permit is not None and not isinstance(permit, Permit):
            return permit
        bulkhead = self.engine.bulkhead
        if bulkhead is not None and not bulkhead.try_acquire():
            self.engine.saturated()
            try:
                bulkhead.acquire(remaining())
            except BulkheadFullError as full:
                _unused(permit)
                return full
            return self._after_wait(permit)
        return permit

    async def aadmit(self) -> Permit | SeawallRejection | None:
        """:meth:`admit` for coroutines: a queued wait never blocks the event loop."""
        deadline = current_deadline()
        if deadline is not None and deadline.clock() >= deadline.at:
            return DeadlineExceededError(self.name)
        permit = self._permit()
        if permit is not None and not isinstance(permit, Permit):
            return permit
        bulkhead = self.engine.bulkhead
        if bulkhead is not None and not bulkhead.try_acquire():
            self.engine.saturated()
            try:
                await bulkhead.aacquire(remaining())
            except BulkheadFullError as full:
                _unused(permit)
                return full
            except BaseException:
                _unused(permit)
                raise
            return self._after_wait(permit)
        return permit

    def _after_wait(self, permit: Permit | None) -> Permit | SeawallRejection | None:
        """After a queue wait the deadline may have passed: then give everything back."""
        deadline = current_deadline()
        if deadline is not None and deadline.clock() >= deadline.at:
            self.engine.release()
            _unused(permit)
            return DeadlineExceededError(self.name)
        return permit

    def _permit(self) -> Permit | SeawallRejection | None:
        breaker = self.breaker
        if breaker is None:
            return None
        permit = breaker.try_acquire()
        if permit is None:
            return _rejection(_CIRCUIT_OPEN, self.name, breaker.retry_after())
        return permit

    def began(self) -> float:
        """An attempt's start for :meth:`settle`: read only when slow calls are judged."""
        return monotonic() if self.engine.timed else 0.0

    def settle(
        self,
        permit: Permit | None,
        began: float,
        status: int | None,
        failure: BaseException | None,
        first: bool = False,
    ) -> None:
        """Record an attempt's outcome (a status, an error or neither) and free its slot. The
        ``first`` attempt of a call funds ``ratio`` of a retry in the budget: a call let through
        pays, at the clock reading the breaker's time window then uses too (one per attempt)."""
        now = UNREAD
        if first:
            budget = self.budget
            if budget is not None:
                now = self._clock()
                budget.deposit_at(now)
        self.engine.settle(permit, began, status, failure, now)

    def call(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Run ``fn(*args, **kwargs)`` under the policy, with retries; see the module docstring."""
        return self.run(fn, args, kwargs)

    def run(self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
        """:meth:`call` with the arguments as they came."""
        result = self.attempts(fn, args, kwargs)
        if isinstance(result, Refused):
            raise result.error
        done: R = result
        return done

    def attempts(
        self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R | Refused:
        """The call's attempts; a call refused at once comes back as :class:`Refused` for the
        caller to raise: under mypyc each compiled frame an exception leaves costs a made-up
        traceback frame, and a rejection is raised often (callgrind: see the benchmarks)."""
        started = self.started()
        timeout = self.timeout
        timed = self.engine.timed
        attempt = 0
        errors: tuple[BaseException, ...] = ()
        while True:
            attempt += 1
            permit = self.admit()
            if permit is not None and not isinstance(permit, Permit):
                if attempt == 1 and self._quiet_refusal(started):
                    return Refused(permit)  # nobody to tell, nothing to fall back to
                last = self._refused(permit, errors, fn, args, kwargs, attempt)
                value = self._fallback(last, fn, args, kwargs, attempt - 1, started)
                if value is None:
                    if last is permit:
                        return Refused(permit)
                    raise last
                refused: R = value[0]
                return refused
            began = monotonic() if timed else 0.0
            token = None if timeout is None else push_deadline(timeout)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                pop_deadline(token)
                self.settle(permit, began, None, exc, attempt == 1)
                errors += (exc,)
                delay = self._after_error(exc, errors, fn, args, kwargs, attempt)
                if delay is None:
                    value = self._fallback(exc, fn, args, kwargs, attempt, started)
                    if value is None:
                        raise
                    given: R = value[0]
                    return given
                self._sleep(delay)
                continue
            except BaseException as exc:
                pop_deadline(token)
                self.settle(permit, began, None, exc, attempt == 1)
                raise
            pop_deadline(token)
            self.settle(permit, began, None, None, attempt == 1)
            if started is not None:
                self.ended("success", attempt, started, None)
            return result

    async def acall(self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """Await ``fn(*args, **kwargs)`` under the policy, each attempt cancelled at its time."""
        return await self.arun(fn, args, kwargs)

    async def arun(
        self, fn: Callable[..., Awaitable[R]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        """:meth:`acall` with the arguments as they came."""
        started = self.started()
        timed = self.engine.timed
        attempt = 0
        errors: tuple[BaseException, ...] = ()
        while True:
            attempt += 1
            permit = await self.aadmit()
            if permit is not None and not isinstance(permit, Permit):
                last = self._refused(permit, errors, fn, args, kwargs, attempt)
                value = self._fallback(last, fn, args, kwargs, attempt - 1, started)
                if value is None:
                    raise last
                refused: R = await _resolved(value[0])
                return refused
            began = monotonic() if timed else 0.0
            try:
                seconds = self.seconds()
                if seconds is None:
                    result = await fn(*args, **kwargs)
                else:
                    async with Timeout(seconds, self.name):
                        result = await fn(*args, **kwargs)
            except Exception as exc:
                self.settle(permit, began, None, exc, attempt == 1)
                errors += (exc,)
                delay = self._after_error(exc, errors, fn, args, kwargs, attempt)
                if delay is None:
                    value = self._fallback(exc, fn, args, kwargs, attempt, started)
                    if value is None:
                        raise
                    given: R = await _resolved(value[0])
                    return given
                await asyncio.sleep(delay)
                continue
            except BaseException as exc:
                self.settle(permit, began, None, exc, attempt == 1)
                raise
            self.settle(permit, began, None, None, attempt == 1)
            if started is not None:
                self.ended("success", attempt, started, None)
            return result

    def _quiet_refusal(self, started: float | None) -> bool:
        """A first attempt refused with no listener and no fallback: the rejection is all."""
        return started is None and self.fallback is None and not self._wants_failed

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
        if self._seen != _changes[0]:
            self._listening()
        if self._wants_failed:
            self.events.publish(
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
    ) -> BaseException:
        """Admission refused attempt ``attempt``: what the caller gets, the rejection for a
        first attempt, the last error for a retry (a refused retry). Either way the call has
        failed for good: a final :class:`DependencyFailed` says so."""
        last: BaseException = rejection
        if errors:
            last = errors[-1]
            self.retry_event("rejected", attempt - 1, 0.0, self.classifier.classify(last))
        if self._seen != _changes[0]:
            self._listening()
        if self._wants_failed:
            self.events.publish(
                DependencyFailed(
                    self.name, True, fn, args, kwargs, attempt - 1, errors or (rejection,)
                )
            )
        return last

    def _fallback(
        self,
        exc: BaseException,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempts: int,
        started: float | None,
    ) -> list[Any] | None:
        """The call failed for good with ``exc``: ``[value]`` of the fallback, or ``None`` when
        there is none for it (the caller raises ``exc``). Publishes how the call ended."""
        fallback = self.fallback
        if (
            fallback is None
            or self.classifier.verdict(exc) != "failure"
            or replaying_queue() == self.name  # a replay must fail, not be answered for
        ):
            if started is not None:
                self.ended(self.failed_outcome(exc), attempts, started, _name(exc))
            return None
        reason = "timeout" if is_timeout(exc) else "failure"
        if isinstance(exc, SeawallRejection) and reason != "timeout":
            reason = exc.reason
        value = fallback(FallbackCall(self.name, reason, exc, fn, args, kwargs, attempts))
        self.ended("fallback", attempts, started, _name(exc))
        return [value]


# Final: compiled code reads these from C statics, not from the module's dict per rejection.
_CIRCUIT_OPEN: Final = CircuitOpenError
_DEADLINE_EXCEEDED: Final = DeadlineExceededError

# Bound once: ``kind.__new__`` looked the method up by name on every rejection.
_new_exception: Final = Exception.__new__


def _rejection(
    kind: type[SeawallRejection], name: str, retry_after: float | None
) -> SeawallRejection:
    """``kind(name, retry_after=retry_after)`` without running the Python ``__init__``: made
    on every refused call, and the call into Python code was most of a rejection's cost
    (callgrind, benchmarks/instructions_dependencies.sh)."""
    rejection: SeawallRejection = _new_exception(kind, name)  # args (name,), as kind(name)
    rejection.route = name
    rejection.retry_after = retry_after
    return rejection


def _unused(permit: Permit | None) -> None:
    """Give back a breaker permit that was never used."""
    if permit is not None:
        permit.ignore()


def _name(exc: BaseException) -> str:
    return type(exc).__name__


async def _resolved(value: Any) -> Any:
    """A fallback's value, awaited when an async fallback returned a coroutine."""
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
