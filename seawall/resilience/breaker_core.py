"""What every call through a circuit breaker goes through: the per-call hot path (mypyc).

Permits, admission, outcome recording, the trip rule, the transitions these cause, and the
call helpers and decorator; :class:`~seawall.resilience.breaker.CircuitBreaker` adds manual
control, observation and listeners.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import random as _random
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Final, Literal, ParamSpec, TypeVar, overload

from seawall.clock import Clock, monotonic
from seawall.config.schema import BreakerSettings
from seawall.errors.exceptions import CircuitOpenError
from seawall.resilience.breaker_events import BreakerEvent, Listener, State, notify
from seawall.resilience.windows import UNREAD, CountWindow, TimeWindow, Window

__all__ = ["FAILURE", "IGNORE", "SUCCESS", "BreakerCore", "Classifier", "Outcome", "Permit"]

P = ParamSpec("P")
R = TypeVar("R")

Outcome = Literal["success", "failure", "ignore"]
Classifier = Callable[[BaseException], str]  # an Outcome; anything else counts as "failure"

_log = logging.getLogger("seawall.breaker")

# Final: compiled code reads these as C constants, not by name from the module (per call).
SUCCESS: Final = 0
FAILURE: Final = 1
IGNORE: Final = 2
"""How an outcome counts, as the small ints the hot path compares."""
_VERDICTS: dict[str, int] = {"success": SUCCESS, "failure": FAILURE, "ignore": IGNORE}
_INF = math.inf

# Module constants: a global lookup is cheaper than an enum attribute on the hot path.
_CLOSED: Final = State.CLOSED
_OPEN: Final = State.OPEN
_HALF_OPEN: Final = State.HALF_OPEN
_FORCED_OPEN: Final = State.FORCED_OPEN
_DISABLED: Final = State.DISABLED
_METRICS_ONLY: Final = State.METRICS_ONLY
_MODE_STATES = {"enforce": _CLOSED, "metrics_only": _METRICS_ONLY, "disabled": _DISABLED}


def _ceil(seconds: float) -> int:
    """``math.ceil`` in native code: compiled, the module attribute and the call into it
    were most of ``retry_after``, which every rejection reads."""
    whole = int(seconds)
    return whole + 1 if whole < seconds else whole


class Permit:
    """Leave to make one call; report its outcome once, whatever happens.

    In admit-all states one permit per epoch is shared (nothing to allocate per call); a
    half-open probe gets its own, which holds a slot until reported, ignored or expired.
    """

    __slots__ = ("_breaker", "_epoch", "_expires", "_probe")

    def __init__(
        self, breaker: BreakerCore, epoch: int, expires: float = _INF, probe: bool = False
    ) -> None:
        self._breaker = breaker
        self._epoch = epoch
        self._expires = expires
        self._probe = probe

    def __repr__(self) -> str:
        kind = "probe" if self._probe else "permit"
        return f"<{kind} of {self._breaker.name!r}, epoch {self._epoch}>"

    @property
    def epoch(self) -> int:
        """The breaker epoch this permit was admitted in; its result counts only there."""
        return self._epoch

    @property
    def is_probe(self) -> bool:
        """True for a half-open probe."""
        return self._probe

    def success(self, duration: float | None = None) -> None:
        """The call worked; pass its ``duration`` (seconds) to count slow calls."""
        self._breaker._settle(self, SUCCESS, duration)

    def failure(self, duration: float | None = None) -> None:
        """The call failed."""
        self._breaker._settle(self, FAILURE, duration)

    def error(self, exc: BaseException, duration: float | None = None) -> None:
        """The call raised ``exc``: the breaker's classifier decides how it counts."""
        self._breaker._settle(self, self._breaker._verdict(exc), duration)

    def ignore(self) -> None:
        """Not the callee's fault (429, client gone, cancelled): count nothing, free the slot."""
        self._breaker._settle(self, IGNORE, None)

    def status(self, code: int, duration: float | None = None) -> None:
        """Report an HTTP status: failure statuses fail, 429 is ignored, the rest succeed."""
        self._breaker.record_status(self, code, duration)


class BreakerCore:
    """One breaker's state and per-call rules, thread-safe; the lock is never held while a
    protected call runs. Build a :class:`~seawall.resilience.breaker.CircuitBreaker`.
    """

    __slots__ = (
        "__weakref__", "_base_state", "_classify", "_clock", "_consecutive", "_consecutive_limit",
        "_epoch", "_failure_rate", "_failure_statuses", "_fast", "_listeners", "_lock",
        "_lock_acquire", "_lock_release", "_minimum_calls", "_open_until", "_probe_slow",
        "_probe_successes", "_probe_timeout", "_probes", "_random", "_reject_until", "_reopens",
        "_slow_after", "_slow_rate", "_state", "_window", "name", "settings",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        settings: BreakerSettings | None = None,
        *,
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
        classify: Classifier | None = None,
        probe_timeout: float | None = None,
    ) -> None:
        s = settings if settings is not None else BreakerSettings()
        self.name = name
        self.settings = s
        self._clock: Clock = clock or monotonic
        self._random = random or _random.random
        self._classify = classify
        self._probe_timeout = probe_timeout if probe_timeout is not None else s.open_for
        self._lock = threading.Lock()
        # Bound once for every call's outcome: no method lookup by name per call when compiled.
        self._lock_acquire: Callable[[], bool] = self._lock.acquire
        self._lock_release: Callable[[], None] = self._lock.release
        self._listeners: tuple[Listener, ...] = ()
        self._window: Window = (
            TimeWindow(s.window, self._clock) if s.window_type == "time" else CountWindow(s.window)
        )
        self._minimum_calls = s.minimum_calls
        self._failure_rate = s.failure_rate
        self._slow_after = _INF if s.slow_call_duration is None else s.slow_call_duration
        self._slow_rate = s.slow_call_rate
        self._consecutive_limit = _INF if s.consecutive_failures is None else s.consecutive_failures
        self._failure_statuses = s.failure_statuses
        self._consecutive = 0
        self._reopens = 0
        self._open_until = -_INF
        self._reject_until = -_INF  # open: open_until, forced open: inf, otherwise -inf
        self._probes: set[Permit] = set()
        self._probe_successes = 0
        self._probe_slow = 0
        self._epoch = 0
        self._base_state = _MODE_STATES[s.mode]
        self._state = self._base_state
        self._fast: Permit | None = Permit(self, 0)  # the shared permit while admitting all

    # -- admission -----------------------------------------------------------------------

    def try_acquire(self) -> Permit | None:
        """A permit for one call, or ``None`` when rejected (no exception, no allocation)."""
        permit = self._fast
        if permit is not None:
            return permit
        if self._clock() < self._reject_until:
            return None
        return self._admit()

    def acquire(self) -> Permit:
        """A permit for one call; raise :class:`CircuitOpenError` with ``retry_after`` if not."""
        permit = self._fast
        if permit is not None:
            return permit
        permit = self.try_acquire()
        if permit is None:
            raise CircuitOpenError(route=self.name, retry_after=self.retry_after())
        return permit

    def retry_after(self) -> int:
        """Whole seconds (at least 1) until a probe may be admitted: the ``Retry-After`` hint."""
        state = self._state
        if state is _OPEN:
            return max(1, _ceil(self._open_until - self._clock()))
        if state is _FORCED_OPEN:
            return max(1, _ceil(self.settings.open_for))
        return 1

    def _admit(self) -> Permit | None:
        event = None
        with self._lock:
            now = self._clock()
            state = self._state
            if state is _OPEN and now >= self._open_until:
                event = self._enter(_HALF_OPEN, now, "open_timeout")
                state = _HALF_OPEN
            if state is _HALF_OPEN:
                permit = self._lease(now)
            elif state is _OPEN or state is _FORCED_OPEN:
                permit = None
            else:
                permit = self._fast
        if event is not None:
            notify(self.name, self._listeners, event)
        return permit

    def _lease(self, now: float) -> Permit | None:
        probes = self._drop_lost_probes(now)
        if len(probes) + self._probe_successes >= self.settings.half_open_calls:
            return None
        permit = Permit(self, self._epoch, now + self._probe_timeout, True)
        probes.add(permit)
        return permit

    def _drop_lost_probes(self, now: float) -> set[Permit]:
        probes = self._probes
        for lost in [p for p in probes if p._expires <= now]:
            probes.discard(lost)
        return probes

    # -- outcomes ------------------------------------------------------------------------

    def record_status(self, permit: Permit, status: int, duration: float | None = None) -> None:
        """Report an HTTP status for ``permit`` (see :meth:`Permit.status`)."""
        if status in self._failure_statuses:
            outcome = FAILURE
        elif status == 429:
            outcome = IGNORE
        else:
            outcome = SUCCESS
        self._settle(permit, outcome, duration)

    def _settle(
        self, permit: Permit, outcome: int, duration: float | None, now: float = UNREAD
    ) -> None:
        """Count ``permit``'s outcome; ``now``, a reading of this breaker's clock the caller
        already took (UNREAD: none), spares a time window its own."""
        # The hot path of every call: explicit acquire/release is ~40 ns cheaper than ``with``.
        self._lock_acquire()
        try:
            event = self._settle_locked(permit, outcome, duration, now)
        finally:
            self._lock_release()
        if event is not None:
            notify(self.name, self._listeners, event)

    def _settle_locked(
        self, permit: Permit, outcome: int, duration: float | None, now: float = UNREAD
    ) -> BreakerEvent | None:
        """Count ``permit``'s outcome (lock held); the transition it caused, to notify after
        the lock is released."""
        if permit._epoch != self._epoch:
            return None  # admitted before the last transition: changes nothing
        if permit._probe:
            return self._settle_probe(permit, outcome, duration)
        if outcome == IGNORE or self._state is _DISABLED:
            return None
        failed = outcome == FAILURE
        self._window.record(failed, duration is not None and duration >= self._slow_after, now)
        self._consecutive = self._consecutive + 1 if failed else 0
        if self._state is not _CLOSED:
            return None
        reason = self._trip_reason()
        if reason is None:
            return None
        return self._enter(_OPEN, self._clock(), reason)

    def outcome_of(self, status: int | None, failure: BaseException | None) -> int:
        """How an attempt counts: its error as the classifier says (``failure`` wins), else
        its status (``0``: no answer, a failure), else (``None``) a success."""
        if failure is not None:
            return self._verdict(failure)
        if status is None:
            return SUCCESS
        if not status or status in self._failure_statuses:
            return FAILURE
        return IGNORE if status == 429 else SUCCESS

    def _trip_reason(self) -> str | None:
        """Why the window as it stands would open a closed breaker, or ``None``."""
        window = self._window
        calls = window.calls
        if calls >= self._minimum_calls:
            # Divide rather than multiply: 3 / 10 >= 0.3 holds, 0.3 * 10 is 3.0000000000000004.
            if window.failures / calls >= self._failure_rate:
                return "failure_rate"
            if window.slow / calls >= self._slow_rate:
                return "slow_call_rate"
        if self._consecutive >= self._consecutive_limit:
            return "consecutive_failures"
        return None

    def _settle_probe(
        self, permit: Permit, outcome: int, duration: float | None
    ) -> BreakerEvent | None:
        if permit not in self._probes:
            return None  # expired or already reported
        self._probes.discard(permit)
        now = self._clock()
        if outcome == IGNORE or permit._expires <= now:
            return None
        if outcome == FAILURE:
            return self._enter(_OPEN, now, "probe_failed")
        self._probe_successes += 1
        if duration is not None and duration >= self._slow_after:
            self._probe_slow += 1
        wanted = self.settings.half_open_calls
        if self._probe_successes < wanted:
            return None
        if self._probe_slow / wanted >= self._slow_rate:
            return self._enter(_OPEN, now, "probe_slow")
        return self._enter(_CLOSED, now, "probes_succeeded")

    def _verdict(self, exc: BaseException) -> int:
        # CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit: not the callee's fault.
        if not isinstance(exc, Exception):
            return IGNORE
        if self._classify is None:
            return FAILURE
        try:
            return _VERDICTS.get(self._classify(exc), FAILURE)
        except Exception as error:
            _log.warning("breaker %r: classify raised %s", self.name, type(error).__name__)
            return FAILURE

    # -- transitions ---------------------------------------------------------------------

    def _enter(self, new: State, now: float, reason: str) -> BreakerEvent:
        """Move to ``new`` (lock held); a new epoch voids every permit handed out before."""
        old = self._state
        self._fast = None
        self._epoch += 1
        self._probes.clear()
        self._probe_successes = self._probe_slow = 0
        if new is _OPEN:
            s = self.settings
            if old is _HALF_OPEN and s.open_for * 2.0**self._reopens < s.max_open_for:
                self._reopens += 1  # stops at the cap, so 2.0**n never overflows
            self._open_until = now + self._open_delay()
            self._reject_until = self._open_until
        elif new is _HALF_OPEN:
            self._reject_until = -_INF
        elif new is _FORCED_OPEN:
            self._reject_until = _INF
        else:
            self._window.reset()
            self._consecutive = self._reopens = 0
            self._reject_until = -_INF
        self._state = new
        if new is _CLOSED or new is _METRICS_ONLY or new is _DISABLED:
            self._fast = Permit(self, self._epoch)
        return BreakerEvent(self.name, old, new, now, reason)

    def _open_delay(self) -> float:
        s = self.settings
        delay = min(s.open_for * 2.0**self._reopens, s.max_open_for)
        if s.jitter:
            delay *= 1.0 + s.jitter * (2.0 * self._random() - 1.0)
        return min(delay, s.max_open_for)

    # -- call helpers --------------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn`` under the breaker; raise :class:`CircuitOpenError` when rejected."""
        permit = self.acquire()
        timed = self._slow_after != _INF  # without a slow-call rule, skip the clock
        started = self._clock() if timed else 0.0
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(permit, self._verdict(exc), self._clock() - started if timed else None)
            raise
        self._settle(permit, SUCCESS, self._clock() - started if timed else None)
        return result

    async def call_async(
        self,
        fn: Callable[P, Coroutine[Any, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Await ``fn(*args, **kwargs)`` under the breaker; cancellation frees the permit."""
        permit = self.acquire()
        timed = self._slow_after != _INF  # without a slow-call rule, skip the clock
        started = self._clock() if timed else 0.0
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(permit, self._verdict(exc), self._clock() - started if timed else None)
            raise
        self._settle(permit, SUCCESS, self._clock() - started if timed else None)
        return result

    # The decorator lives here, not on CircuitBreaker: under mypyc ``__call__`` gives a class a
    # vectorcall slot, and a subclass adding one shifts the fields this class's code reads.
    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...
    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a sync or async function so every call goes through the breaker."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await self.call_async(fn, *args, **kwargs)

            return guarded_async

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            return self.call(fn, *args, **kwargs)

        return guarded
