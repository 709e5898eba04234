"""Error analytics in the process: failures grouped by fingerprint, bounded, with a rolling
rate and an EWMA baseline that the spike rule compares against.

A fingerprint is the exception type, the innermost app frame without its line number
(:func:`~seawall.errors.event.app_frame`) and the route template; the ``seawall errors`` command
computes the same one from the ``request_failed`` log lines. At most ``max_fingerprints`` groups
are kept, the least recently seen dropped first. The stable interface (the admin API serves it):
:meth:`ErrorAnalytics.top` and :meth:`ErrorAnalytics.get` return :class:`ErrorGroup` items
whose :meth:`ErrorGroup.as_dict` is JSON-ready.

>>> analytics = seawall.analytics.for_app(app)
>>> [g.as_dict()["count"] for g in analytics.top(5)]
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from seawall.clock import Clock, monotonic
from seawall.errors.event import APP_FRAME, app_frame, error_message
from seawall.errors.problems import Problem
from seawall.observability.error_recorded import ErrorRecorded
from seawall.observability.events import EventBus, RequestFailed, ResponseAborted

__all__ = ["ErrorAnalytics", "ErrorGroup", "ErrorRecorded", "group_id", "route_label"]

BUCKETS = 10
"""The rolling window is kept as this many buckets (a 300 s window: 30 s buckets)."""
ALPHA = 0.05
"""EWMA weight of one closed bucket: the baseline follows a change over about 20 buckets."""
MAX_ROUTES = 10
SAMPLE_LENGTH = 500


def route_label(method: str, route: str | None) -> str:
    """``METHOD route`` as a group lists it (a route key that names its method stays as is)."""
    if route and route.startswith(method + " "):
        return route
    return f"{method} {route or '-'}"


def group_id(exception: str, frame: str, route: str | None) -> str:
    """The fingerprint of a group: 16 hex digits over ``module.Type|file.py:function|route``."""
    text = f"{exception}|{frame}|{route or '-'}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class ErrorGroup:
    """The counters of one fingerprint; read them through :meth:`as_dict` or the properties.

    A failure stores only its monotonic time and its problem (the last ids, status and
    classification are read from it); times become Unix seconds when read.
    """

    __slots__ = (
        "_buckets", "_clock", "_current", "_ewma", "_first", "_head", "_lock", "_methods", "_next",
        "_problem", "_publish_at", "_quiet_until", "_seen", "_wall", "count", "exception",
        "fingerprint", "frame", "route", "routes", "sample_message", "window",
    )  # fmt: skip

    def __init__(
        self,
        exception: str,
        frame: str,
        route: str | None,
        window: float,
        clock: Clock,
        wall_clock: Callable[[], float] = time.time,
        lock: threading.Lock | None = None,
    ) -> None:
        self._clock, self._wall = clock, wall_clock
        self._lock = lock or threading.Lock()  # the analytics': counts and buckets move together
        self.fingerprint = group_id(exception, frame, route)
        self.exception, self.frame, self.route = exception, frame, route
        self.window = window
        self.count = 0
        now = clock()
        self._first = self._seen = now
        self.routes: list[str] = []
        self._methods: set[str] = set()
        self._problem: Problem | None = None
        self.sample_message = ""
        self._buckets = [0] * BUCKETS  # closed buckets; the head one counts in _current
        self._current = 0
        self._head = self._bucket(now)
        self._next = (self._head + 1) * window / BUCKETS  # when the head bucket ends
        self._ewma = 0.0
        self._publish_at = 0
        self._quiet_until = -math.inf

    @property
    def status(self) -> int:
        """The HTTP status of the last failure (0 before any)."""
        return 0 if self._problem is None else self._problem.status

    @property
    def classification(self) -> str:
        """The classification of the last failure."""
        return "unknown" if self._problem is None else self._problem.classification

    @property
    def correlation_id(self) -> str | None:
        """The correlation id of the last failure."""
        return None if self._problem is None else self._problem.extensions.get("correlation_id")

    @property
    def error_id(self) -> str | None:
        """The error id of the last failure (the one its problem response carried)."""
        return None if self._problem is None else self._problem.extensions.get("error_id")

    @property
    def first_seen(self) -> float:
        """Unix seconds of the first failure."""
        return self._unix(self._first)

    @property
    def last_seen(self) -> float:
        """Unix seconds of the last failure."""
        return self._unix(self._seen)

    def _unix(self, at: float) -> float:
        """Monotonic ``at`` as Unix seconds: the wall clock now, less how long ago it was."""
        return self._wall() - (self._clock() - at)

    def _bucket(self, now: float) -> int:
        return math.floor(now * BUCKETS / self.window)

    def _advance(self, now: float) -> None:
        """Close the buckets that ended before ``now``, folding each into the baseline."""
        head = self._bucket(now)
        steps = head - self._head
        if steps <= 0:
            return
        self._next = (head + 1) * self.window / BUCKETS
        buckets = self._buckets
        buckets[self._head % BUCKETS] = self._current
        self._current = 0
        for _ in range(min(steps, BUCKETS)):
            self._ewma += ALPHA * (buckets[self._head % BUCKETS] - self._ewma)
            self._head += 1
            buckets[self._head % BUCKETS] = 0
        if steps > BUCKETS:  # a long quiet time: the baseline decays for each empty bucket
            self._ewma *= (1 - ALPHA) ** (steps - BUCKETS)
            self._head = head

    def window_count(self, now: float) -> int:
        """Failures in the rolling window ending at ``now`` (monotonic seconds)."""
        with self._lock:
            self._advance(now)
            return sum(self._buckets) + self._current

    def rate(self, now: float) -> float:
        """Failures per second over the rolling window."""
        return self.window_count(now) / self.window

    def baseline(self, now: float) -> float:
        """The EWMA of past buckets, as failures per window (what a spike is a multiple of)."""
        with self._lock:
            self._advance(now)
            return self._ewma * BUCKETS

    def defer(self, *, count: int = 0, until: float = -math.inf) -> None:
        """Publish no :class:`ErrorRecorded` for this group before it reaches ``count`` failures
        or before monotonic time ``until``: a rule that cannot fire before then says so, and a
        storm of failures costs the rules nothing."""
        self._publish_at = count
        self._quiet_until = until

    def _add_route(self, method: str) -> None:
        """List ``METHOD route`` for a method not seen here yet (at most :data:`MAX_ROUTES`)."""
        if len(self._methods) < MAX_ROUTES:
            self._methods.add(method)
            self.routes.append(route_label(method, self.route))

    def as_dict(self, now: float | None = None) -> dict[str, Any]:
        """JSON-ready: every field here, times as Unix seconds (a stable interface)."""
        at = self._clock() if now is None else now
        return {
            "fingerprint": self.fingerprint,
            "exception": self.exception,
            "frame": self.frame,
            "route": self.route,
            "routes": list(self.routes),
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "status": self.status,
            "classification": self.classification,
            "last_correlation_id": self.correlation_id,
            "last_error_id": self.error_id,
            "sample_message": self.sample_message,
            "rate": round(self.rate(at), 6),
            "baseline": round(self.baseline(at), 6),
        }


class ErrorAnalytics:
    """Groups the failures of one pipeline; thread-safe, at most ``max_fingerprints`` groups.

    Subscribe it with :meth:`attach`; it publishes :class:`ErrorRecorded` on the same bus (only
    when someone listens: the alert rules do). Failures with a status below 500 count only with
    ``client_errors``, as the log writes them only then.

    A failure of a known group costs one clock read, a dict look-up and a few stores under the
    lock (the least-recently-seen order moves only when another group was seen last); the
    sample message is redacted once per group, times become Unix seconds when read.
    """

    def __init__(
        self,
        *,
        redact: Callable[[str], str],
        max_fingerprints: int = 1000,
        window: float = 300.0,
        client_errors: bool = False,
        clock: Clock = monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._redact = redact
        self.max_fingerprints = max_fingerprints
        self.window = window
        self._client_errors = client_errors
        self.clock = clock
        self._wall = wall_clock
        self._groups: OrderedDict[tuple[type[BaseException], str, str | None], ErrorGroup] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self._bus: EventBus | None = None
        self._recent: ErrorGroup | None = None  # the last group moved to the recent end
        self.dropped = 0
        """Groups dropped because ``max_fingerprints`` was reached."""

    def attach(self, bus: EventBus) -> None:
        """Count the failures published on ``bus`` and publish :class:`ErrorRecorded` there."""
        self._bus = bus
        bus.subscribe(RequestFailed, self.record)
        bus.subscribe(ResponseAborted, self.record)

    def record(self, event: RequestFailed | ResponseAborted) -> ErrorGroup | None:
        """Count one failure; returns its group (``None`` for a client error not counted)."""
        problem = event.problem
        if problem.status < 500 and not self._client_errors:
            return None
        exc = event.exception
        frame = getattr(exc, APP_FRAME, None)  # found by the log's event already, mostly
        key = (type(exc), frame if type(frame) is str else app_frame(exc), event.route)
        now = self.clock()
        with self._lock:
            group = self._groups.get(key)
            new = group is None
            if group is None:
                group = self._new_group(key, exc)
            elif group is not self._recent:  # a storm of one group keeps it at the end
                self._groups.move_to_end(key)
            self._recent = group
            if now >= group._next:
                group._advance(now)
            group.count += 1
            group._current += 1
            group._seen = now
            group._problem = problem
            if event.method not in group._methods:
                group._add_route(event.method)
        if new or (group.count >= group._publish_at and now >= group._quiet_until):
            bus = self._bus
            if bus is not None and bus.wants(ErrorRecorded):
                bus.publish(ErrorRecorded(group, new))
        return group

    def _new_group(
        self, key: tuple[type[BaseException], str, str | None], exc: BaseException
    ) -> ErrorGroup:
        kind = key[0]
        name = f"{kind.__module__}.{kind.__qualname__}"
        group = ErrorGroup(name, key[1], key[2], self.window, self.clock, self._wall, self._lock)
        group.sample_message = error_message(exc, self._redact)[:SAMPLE_LENGTH]
        self._groups[key] = group
        if len(self._groups) > self.max_fingerprints:
            self._groups.popitem(last=False)
            self.dropped += 1
        return group

    def top(self, limit: int = 20) -> list[ErrorGroup]:
        """The ``limit`` groups with the most failures, most first (ties: most recent first)."""
        with self._lock:
            groups = list(reversed(self._groups.values()))
        groups.sort(key=lambda g: g.count, reverse=True)
        return groups[: max(limit, 0)]

    def get(self, fingerprint: str) -> ErrorGroup | None:
        """The group of ``fingerprint`` (as :attr:`ErrorGroup.fingerprint` gives it), if kept."""
        with self._lock:
            for group in self._groups.values():
                if group.fingerprint == fingerprint:
                    return group
        return None

    def __len__(self) -> int:
        return len(self._groups)

    def clear(self) -> None:
        """Forget every group (tests, or an operator's reset)."""
        with self._lock:
            self._groups.clear()
            self._recent = None
