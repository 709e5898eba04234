"""Everything seawall decides, as typed events on a bus that observers subscribe to.

Logging is one subscriber; metrics, alerts and applications subscribe the same way. Publishing
is synchronous, in the request's context (so the correlation id is set), and costs nothing for a
kind of event nobody listens to: publishers ask :meth:`EventBus.wants` before they build one.
A listener that raises is reported once per failure on the ``seawall.events`` stdlib logger and
never reaches the request.

>>> from seawall import events
>>> events.subscribe(events.BreakerStateChanged, lambda e: print(e.route, e.new_state))
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from seawall.errors.problems import Problem

__all__ = [
    "BUS",
    "AnswerFailed",
    "BreakerStateChanged",
    "BulkheadSaturated",
    "CorrelationIdInvalid",
    "DeadLetterStored",
    "DeadlineExceeded",
    "DependencyBreakerChanged",
    "DependencyCalled",
    "DependencyFailed",
    "DependencyRequest",
    "DependencyRetry",
    "Event",
    "EventBus",
    "FallbackFailed",
    "FallbackServed",
    "HeadersDropped",
    "ReadinessFailed",
    "ReadinessRecovered",
    "RecoveryExhausted",
    "RecoveryRan",
    "RequestFailed",
    "RequestRejected",
    "ResponseAborted",
    "StaleServed",
    "StateRestored",
    "StateUnavailable",
    "subscribe",
]

_log = logging.getLogger("seawall.events")


class Event:
    """Base of every seawall event."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class RequestFailed(Event):
    """A request failed before its response started and was answered with ``problem``."""

    exception: BaseException
    problem: Problem
    method: str
    route: str | None


@dataclass(frozen=True, slots=True)
class ResponseAborted(Event):
    """A request failed after its response started: the stream was cut."""

    exception: BaseException
    problem: Problem
    method: str
    route: str | None


@dataclass(frozen=True, slots=True)
class RequestRejected(Event):
    """Seawall refused to run a request's handler (``reason``: ``circuit_open``,
    ``bulkhead_full``, ``timeout``, ``deadline_exceeded``) and answered with a problem."""

    reason: str
    status: int
    method: str
    route: str | None
    error_id: str | None
    correlation_id: str | None


@dataclass(frozen=True, slots=True)
class HeadersDropped(Event):
    """Headers an exception asked for could not be sent (not latin-1, CR/LF, a framing header):
    the problem went out without them. ``names`` are escaped; values are never kept."""

    method: str
    route: str | None
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnswerFailed(Event):
    """Seawall could not build the problem for ``exception`` (``error`` raised while it
    tried) and sent its last-resort 500 with ``error_id``. Class names only."""

    method: str
    route: str | None
    exception: str
    error: str
    error_id: str


@dataclass(frozen=True, slots=True)
class DeadlineExceeded(Event):
    """Work that cannot be interrupted (WSGI ``deadline`` mode) ended ``over`` seconds after its
    ``timeout``; its route's breaker counts it as a failure (a slow call)."""

    route: str | None
    timeout: float
    over: float


@dataclass(frozen=True, slots=True)
class BreakerStateChanged(Event):
    """A route's breaker moved from ``old_state`` to ``new_state``."""

    route: str
    old_state: str
    new_state: str
    reason: str


@dataclass(frozen=True, slots=True)
class FallbackServed(Event):
    """A refused request was answered by its route's fallback."""

    route: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class FallbackFailed(Event):
    """A route's fallback raised or returned something unusable; the problem was sent.
    ``reason`` is the refusal's (``circuit_open``...)."""

    route: str | None
    exception: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StaleServed(Event):
    """A refused request was answered with the route's last good answer, ``age`` seconds old."""

    route: str | None
    reason: str
    age: int


@dataclass(frozen=True, slots=True)
class BulkheadSaturated(Event):
    """A request found its route's bulkhead full: it waits in the queue or is refused."""

    route: str | None
    limit: int


@dataclass(frozen=True, slots=True)
class CorrelationIdInvalid(Event):
    """An incoming correlation id failed validation; ``hint`` is escaped and truncated."""

    hint: str
    action: str


@dataclass(frozen=True, slots=True)
class StateUnavailable(Event):
    """The shared state backend stopped answering: each worker decides alone until it is back."""

    backend: str
    error: str


@dataclass(frozen=True, slots=True)
class StateRestored(Event):
    """The shared state backend answers again (after ``down_for`` seconds) and was re-read."""

    backend: str
    down_for: float


@dataclass(frozen=True, slots=True)
class DependencyCalled(Event):
    """One call to a dependency ended (all its attempts): ``outcome`` is ``success``,
    ``failure``, ``rejected``, ``timeout`` or ``fallback``; ``duration`` covers every attempt
    and wait; ``error`` is the class name of what the caller got, if it raised."""

    dependency: str
    outcome: str
    attempts: int
    duration: float
    error: str | None


@dataclass(frozen=True, slots=True)
class DependencyRequest(Event):
    """One HTTP attempt through a seawall httpx transport; ``status`` is ``None`` when the
    request raised (``error`` names the exception class)."""

    dependency: str | None
    method: str
    status: int | None
    duration: float
    error: str | None


@dataclass(frozen=True, slots=True)
class DependencyRetry(Event):
    """After a failed attempt: ``outcome`` is ``retried`` (after ``delay`` s),
    ``budget_exhausted``, ``deadline`` (the wait would end past it) or ``rejected`` (the breaker
    or bulkhead refused the retry)."""

    dependency: str
    outcome: str
    attempt: int
    delay: float
    classification: str


@dataclass(frozen=True, slots=True)
class DependencyFailed(Event):
    """An attempt of a decorated call (or ``call``/``acall``) failed; ``final`` when no retry
    follows: the single place that knows a call failed for good, with what it needs to be
    replayed (``fn``, ``args``, ``kwargs``) and every attempt's error. A call refused by
    admission (breaker, bulkhead, deadline) is final too: ``attempts`` 0 and ``errors`` the
    rejection for a first attempt, the attempts' errors for a refused retry."""

    dependency: str
    final: bool
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    attempts: int
    errors: tuple[BaseException, ...]


@dataclass(frozen=True, slots=True)
class DependencyBreakerChanged(Event):
    """A dependency's breaker moved from ``old_state`` to ``new_state``."""

    dependency: str
    old_state: str
    new_state: str
    reason: str
    critical: bool


@dataclass(frozen=True, slots=True)
class RecoveryRan(Event):
    """A dependency's recovery action ran (``outcome``: ``succeeded``, ``failed``, or
    ``dry_run`` when it was only logged); ``attempt`` counts within the outage."""

    dependency: str
    action: str
    attempt: int
    outcome: str
    error: str | None


@dataclass(frozen=True, slots=True)
class RecoveryExhausted(Event):
    """The breaker is still open after ``max_attempts`` recovery runs: none until it closes."""

    dependency: str
    action: str
    attempts: int


@dataclass(frozen=True, slots=True)
class ReadinessFailed(Event):
    """A readiness probe of the app at ``name`` (its path) failed after passing or warning;
    ``components`` are the failing checks' and breakers' names (never an exception's text).
    Draining is deliberate and publishes nothing."""

    name: str
    components: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReadinessRecovered(Event):
    """Readiness of the app at ``name`` passes (or warns) again after :class:`ReadinessFailed`."""

    name: str
    down_for: float


@dataclass(frozen=True, slots=True)
class DeadLetterStored(Event):
    """An entry was stored in dead-letter ``queue``; ``depth`` estimates the queue's entries
    (the store's count, sampled at most once a minute, plus the puts since)."""

    queue: str
    depth: int


E = TypeVar("E", bound=Event)
Listener = Callable[[Any], object]

SUBSCRIPTIONS = 0
"""Bumped by every subscribe and unsubscribe on any bus: a hot path may cache what
:meth:`EventBus.wants` said for as long as this number stays the same."""


CHANGES: list[int] = [0]
""":data:`SUBSCRIPTIONS` in a list slot: compiled hot paths bind the list once and read the
slot, cheaper than a module attribute read through the module's dict."""


def _changed() -> None:
    global SUBSCRIPTIONS
    SUBSCRIPTIONS += 1
    CHANGES[0] = SUBSCRIPTIONS


class EventBus:
    """Listeners by event class; a bus may forward to a ``parent`` (the process-wide :data:`BUS`).

    Subscribing and unsubscribing are thread-safe; publishing reads a tuple without a lock.
    """

    __slots__ = ("_listeners", "_lock", "parent")

    def __init__(self, parent: EventBus | None = None) -> None:
        self.parent = parent
        self._listeners: dict[type[Event], tuple[Listener, ...]] = {}
        self._lock = threading.Lock()

    def subscribe(self, kind: type[E], listener: Callable[[E], object]) -> Callable[[], None]:
        """Call ``listener`` with every event of class ``kind``; returns the unsubscriber."""
        if not (isinstance(kind, type) and issubclass(kind, Event)):
            raise TypeError(f"subscribe() needs a seawall event class, not {kind!r}")
        with self._lock:
            self._listeners[kind] = (*self._listeners.get(kind, ()), listener)
            _changed()

        def unsubscribe() -> None:
            with self._lock:
                kept = tuple(f for f in self._listeners.get(kind, ()) if f is not listener)
                if kept:
                    self._listeners[kind] = kept
                else:
                    self._listeners.pop(kind, None)
                _changed()

        return unsubscribe

    def wants(self, kind: type[Event]) -> bool:
        """True when some listener here or in a parent takes events of class ``kind``."""
        bus: EventBus | None = self
        while bus is not None:
            if kind in bus._listeners:
                return True
            bus = bus.parent
        return False

    def publish(self, event: Event) -> None:
        """Hand ``event`` to its listeners here, then to the parent's."""
        kind = type(event)
        bus: EventBus | None = self
        while bus is not None:
            for listener in bus._listeners.get(kind, ()):
                try:
                    listener(event)
                except Exception as exc:  # an observer's bug must not fail the request
                    _log.error(
                        "seawall event listener %r failed on %s: %s",
                        listener,
                        kind.__name__,
                        type(exc).__qualname__,
                    )
            bus = bus.parent


BUS = EventBus()
"""The process-wide bus: every pipeline's bus forwards to it."""


def subscribe(kind: type[E], listener: Callable[[E], object]) -> Callable[[], None]:
    """Subscribe to events of class ``kind`` from every seawall pipeline in the process."""
    return BUS.subscribe(kind, listener)
