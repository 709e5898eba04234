"""The policy engine: admission and outcome recording of one policy, for any caller.

Admission is the bulkhead (a slot, queued up to the deadline), the deadline (cooperative in
threads) and the breaker (a permit); the outcome goes back to the breaker by one rule,
:meth:`PolicyEngine.record`. The engine knows no protocol: the ASGI and WSGI runners, the
framework adapters and plain function calls (:meth:`PolicyEngine.call`,
:meth:`PolicyEngine.acall`) all use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from seawall.clock import Clock, monotonic
from seawall.config.schema import PolicySettings
from seawall.context.deadline import DeadlineScope, check_deadline, remaining
from seawall.errors.exceptions import CircuitOpenError, SeawallRejection
from seawall.resilience.breaker import BreakerEvent, CircuitBreaker, Permit
from seawall.resilience.bulkhead import Bulkhead
from seawall.resilience.isolation import IsolationPool
from seawall.resilience.timeouts import Timeout
from seawall.resilience.windows import UNREAD

__all__ = ["NO_ANSWER", "Admission", "PolicyEngine"]

R = TypeVar("R")

NO_ANSWER = 0
"""The status to report when the work ended without an answer or an error: a failure."""


class PolicyEngine:
    """Bulkhead, breaker, timeout and isolation pool of one policy, ready to admit work.

    ``name`` names the policy in errors and events (a route key); ``on_transition`` hears the
    breaker's state changes; ``on_saturated`` is told each time work finds the bulkhead full;
    ``on_overrun`` hears how many seconds past its deadline uninterruptible work finished.
    """

    __slots__ = (
        "_clock", "_shared", "breaker", "bulkhead", "name", "on_overrun", "on_saturated", "pool",
        "timed", "timeout",
    )  # fmt: skip

    def __init__(
        self,
        name: str | None,
        policy: PolicySettings,
        *,
        classify: Callable[[BaseException], str] | None = None,
        clock: Clock | None = None,
        on_transition: Callable[[BreakerEvent], object] | None = None,
        on_saturated: Callable[[], object] | None = None,
        on_overrun: Callable[[float], object] | None = None,
    ) -> None:
        label = name or "(default)"
        self.name = name
        self.timeout = policy.timeout
        self.on_saturated = on_saturated
        self.on_overrun = on_overrun
        self._clock = clock
        self.breaker: CircuitBreaker | None = None
        self.timed = False
        self._shared: Admission | None = None
        if policy.breaker is not None:
            self.breaker = CircuitBreaker(
                label, policy.breaker, clock=clock, classify=classify, probe_timeout=policy.timeout
            )
            if on_transition is not None:
                self.breaker.add_listener(on_transition)
            self.timed = policy.breaker.slow_call_duration is not None
        self.bulkhead = (
            Bulkhead(
                label, policy.max_concurrency, policy.max_queue, policy.max_wait, clock=clock
            )
            if policy.max_concurrency is not None
            else None
        )  # fmt: skip
        self.pool = (
            IsolationPool(max_workers=policy.max_concurrency or 32, name=f"seawall {label}")
            if policy.timeout is not None and policy.timeout_mode == "thread"
            else None
        )

    # -- admission -----------------------------------------------------------------------------

    def admit(self) -> Permit | None:
        """A breaker permit (``None`` without a breaker); raises :class:`CircuitOpenError`."""
        breaker = self.breaker
        if breaker is None:
            return None
        permit = breaker.try_acquire()
        if permit is None:
            raise CircuitOpenError(self.name, retry_after=breaker.retry_after())
        return permit

    def saturated(self) -> None:
        """Work found the bulkhead full: tell the observer, if there is one."""
        if self.on_saturated is not None:
            self.on_saturated()

    def enter(self, *, deadline: bool = True) -> Admission:
        """Admission for threads: the deadline starts (with ``deadline``), a bulkhead slot is
        taken (waiting at most until the deadline), the deadline checked, a permit taken.

        Raises a :class:`~seawall.errors.exceptions.SeawallRejection` when refused.
        """
        scope = self._open_deadline() if deadline else None
        try:
            bulkhead = self.bulkhead
            if bulkhead is not None and not bulkhead.try_acquire():
                self.saturated()
                bulkhead.acquire(remaining())
        except BaseException:
            _close(scope)
            raise
        return self._admitted(scope)

    async def aenter(self, *, deadline: bool = True) -> Admission:
        """:meth:`enter` for coroutines: a queued wait never blocks the event loop. Finish the
        admission in the same context."""
        scope = self._open_deadline() if deadline else None
        try:
            bulkhead = self.bulkhead
            if bulkhead is not None and not bulkhead.try_acquire():
                self.saturated()
                await bulkhead.aacquire(remaining())
        except BaseException:
            _close(scope)
            raise
        return self._admitted(scope)

    def _open_deadline(self) -> DeadlineScope | None:
        if self.timeout is None:
            return None
        scope = DeadlineScope(self.timeout, self._clock)
        scope.__enter__()
        return scope

    def _admitted(self, scope: DeadlineScope | None) -> Admission:
        """With the bulkhead slot held: check the deadline, take a breaker permit."""
        try:
            if scope is not None:
                check_deadline(self.name)
            permit = self.admit()
        except BaseException:
            if self.bulkhead is not None:
                self.bulkhead.release()
            _close(scope)
            raise
        if scope is None and not self.timed:
            # Such an admission holds nothing of its work: one is shared while the permit is.
            shared = self._shared
            if shared is None or shared._permit is not permit:
                shared = self._shared = Admission(self, permit, None, 0.0)
            return shared
        return Admission(self, permit, scope, monotonic() if self.timed else 0.0)

    # -- outcome -------------------------------------------------------------------------------

    def record(
        self,
        permit: Permit | None,
        started: float,
        status: int | None,
        failure: BaseException | None,
    ) -> None:
        """The outcome rule: an error is classified, a status judged (``NO_ANSWER``: a
        failure), and ``None`` with no error is a success. Durations only for slow-call rules."""
        if permit is None:
            return
        duration = monotonic() - started if self.timed else None
        if failure is not None:
            permit.error(failure, duration)
        elif status is None:
            permit.success(duration)
        elif status:
            permit.status(status, duration)
        else:
            permit.failure(duration)

    def settle(
        self,
        permit: Permit | None,
        started: float,
        status: int | None,
        failure: BaseException | None,
        now: float = UNREAD,
    ) -> None:
        """:meth:`record` then :meth:`release`, in one step; ``now``, a reading of the engine's
        clock the caller took anyway, spares the breaker's time window a reading of its own."""
        try:
            breaker = self.breaker
            if permit is not None and breaker is not None:
                outcome = breaker.outcome_of(status, failure)  # the classifier runs unlocked
                duration = monotonic() - started if self.timed else None
                breaker._settle(permit, outcome, duration, now)
        finally:
            bulkhead = self.bulkhead
            if bulkhead is not None:
                bulkhead.release()

    def overran(self, permit: Permit | None, over: float) -> None:
        """Work finished ``over`` seconds past its deadline: a slow failure, and reported."""
        if permit is not None:
            permit.failure((self.timeout or 0.0) + over)
        if self.on_overrun is not None:
            self.on_overrun(over)

    def release(self) -> None:
        """Give back the bulkhead slot of admitted work."""
        if self.bulkhead is not None:
            self.bulkhead.release()

    # -- whole calls ---------------------------------------------------------------------------

    def call(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Run ``fn`` under the policy in this thread (the timeout is a cooperative deadline:
        :func:`~seawall.context.deadline.remaining` tells ``fn`` the time left) and record how
        it ended."""
        admission = self.enter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            admission.finish(None, exc)
            raise
        admission.finish(None, None)
        return result

    async def acall(self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """Await ``fn`` under the policy (the timeout cancels it for real, after a queue wait
        bounded by the same deadline) and record how it ended."""
        admission = await self.aenter()
        try:
            if self.timeout is None:
                result = await fn(*args, **kwargs)
            else:
                async with Timeout(self.timeout, self.name):
                    result = await fn(*args, **kwargs)
        except BaseException as exc:
            admission.finish(None, exc)
            raise
        admission.finish(None, None)
        return result


class Admission:
    """Admitted work: report how it ended with :meth:`finish`, exactly once.

    Work without a deadline or slow-call timing may share one admission.
    """

    __slots__ = ("_permit", "_scope", "_started", "engine")

    def __init__(
        self,
        engine: PolicyEngine,
        permit: Permit | None,
        scope: DeadlineScope | None,
        started: float,
    ) -> None:
        self.engine = engine
        self._permit = permit
        self._scope = scope
        self._started = started

    def finish(self, status: int | None, failure: BaseException | None) -> None:
        """Record the outcome (see :meth:`PolicyEngine.record`), free the slot, end the deadline."""
        engine = self.engine
        try:
            scope = self._scope
            deadline = None if scope is None else scope.deadline
            over = 0.0 if deadline is None else deadline.clock() - deadline.at
            if over > 0 and not isinstance(failure, SeawallRejection):
                # Work nothing could interrupt answered late: a failure (a slow call) whatever
                # its status, and said once. Seawall's own timeouts are failures already.
                engine.overran(self._permit, over)
            else:
                engine.record(self._permit, self._started, status, failure)
        finally:
            engine.release()
            _close(self._scope)


def _close(scope: DeadlineScope | None) -> None:
    if scope is not None:
        scope.__exit__(None, None, None)
