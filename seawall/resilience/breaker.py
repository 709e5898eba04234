"""Circuit breakers: stop calling a failing route for a while, then let a few probes test it.

Pure logic with an injected clock and randomness; no web framework. The HTTP pipeline uses
the permit API, everyone else the call helpers or the decorator:

>>> breaker = CircuitBreaker("GET /reports/{id}", BreakerSettings(minimum_calls=10))
>>> permit = breaker.try_acquire()  # None: rejected; answer 503, Retry-After: breaker.retry_after()
>>> permit.status(502, duration=0.8)  # or .success(d), .failure(d), .ignore(): once per permit
>>> report = breaker.call(fetch_report, 42)  # raises CircuitOpenError when rejected

States follow resilience4j (closed, open, half-open, forced-open, disabled, metrics-only).
What it adds: half-open probes hold leases (a lost or cancelled probe frees its slot, and a
lease expires), results count only in the epoch they were admitted in, the open time backs
off with jitter, and the lock is never held while a protected call runs.

What every call goes through (permits, admission, outcomes, transitions, the call helpers)
lives in ``breaker_core``, states and events in ``breaker_events``; every name is importable
from here.
"""

from __future__ import annotations

from seawall.resilience.breaker_core import BreakerCore, Classifier, Outcome, Permit
from seawall.resilience.breaker_events import (
    BreakerEvent,
    BreakerSnapshot,
    Listener,
    State,
    notify,
)

__all__ = [
    "BreakerEvent",
    "BreakerSnapshot",
    "CircuitBreaker",
    "Classifier",
    "Outcome",
    "Permit",
    "State",
]


class CircuitBreaker(BreakerCore):
    """A circuit breaker for one route or dependency; thread-safe, sync and async.

    ``classify(exc)`` says whether an exception is a ``"failure"`` (the default), a
    ``"success"`` or to ``"ignore"``. A probe that has not reported after ``probe_timeout``
    seconds (default: ``open_for``) loses its slot and its late result is dropped.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._state.value}>"

    # -- manual control ------------------------------------------------------------------

    def _manual(self, new: State, reason: str) -> None:
        with self._lock:
            old = self._state
            event = self._enter(new, self._clock(), reason)
        if old is not new:
            notify(self.name, self._listeners, event)

    def force_open(self) -> None:
        """Reject every call until :meth:`close` or :meth:`reset`."""
        self._manual(State.FORCED_OPEN, "forced_open")

    def disable(self) -> None:
        """Admit every call and record nothing."""
        self._manual(State.DISABLED, "disabled")

    def metrics_only(self) -> None:
        """Admit every call, record outcomes and report whether it would open."""
        self._manual(State.METRICS_ONLY, "metrics_only")

    def close(self) -> None:
        """Close with empty metrics, whatever the state and the configured mode."""
        self._manual(State.CLOSED, "closed")

    def reset(self) -> None:
        """Back to the configured mode's state (closed unless ``mode`` says otherwise), empty."""
        self._manual(self._base_state, "reset")

    def hold_open(self, until: float, reason: str) -> bool:
        """Reject calls until the clock reads ``until``, then go half-open as usual.

        For shared state: another worker's trip, or a half-open lease held elsewhere. A closed
        or half-open breaker opens; an open one moves its end; a manual state is kept (False).
        """
        with self._lock:
            state = self._state
            if state is State.FORCED_OPEN or state is State.DISABLED:
                return False
            if state is State.METRICS_ONLY:
                return False
            event = None if state is State.OPEN else self._enter(State.OPEN, self._clock(), reason)
            self._open_until = self._reject_until = until
        if event is not None:
            notify(self.name, self._listeners, event)
        return True

    # -- observation ---------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state; an open breaker whose time is up turns half-open here."""
        if self._state is State.OPEN and self._clock() >= self._open_until:
            event = None
            with self._lock:
                now = self._clock()
                if self._state is State.OPEN and now >= self._open_until:
                    event = self._enter(State.HALF_OPEN, now, "open_timeout")
            if event is not None:
                notify(self.name, self._listeners, event)
        return self._state

    def snapshot(self) -> BreakerSnapshot:
        """State and window totals, read together under the lock."""
        self.state  # noqa: B018  (applies a due open -> half-open transition)
        with self._lock:
            now = self._clock()
            window = self._window
            window.expire()
            calls = window.calls
            state = self._state
            open_until = self._open_until if state is State.OPEN else None
            return BreakerSnapshot(
                name=self.name,
                state=state,
                epoch=self._epoch,
                calls=calls,
                failures=window.failures,
                slow_calls=window.slow,
                failure_rate=window.failures / calls if calls else 0.0,
                slow_rate=window.slow / calls if calls else 0.0,
                consecutive_failures=self._consecutive,
                open_until=open_until,
                seconds_to_half_open=None if open_until is None else max(0.0, open_until - now),
                half_open_in_flight=len(self._drop_lost_probes(now)),
                would_open=state is State.METRICS_ONLY and self._trip_reason() is not None,
            )

    def add_listener(self, listener: Listener) -> Listener:
        """Call ``listener(event)`` after each transition, outside the lock; returns it."""
        with self._lock:
            self._listeners = (*self._listeners, listener)
        return listener

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            # ==, not is: ``events.append`` is a new bound method object on every access.
            self._listeners = tuple(x for x in self._listeners if x != listener)
