"""The per-request half of the metrics: one route's active count and duration histogram.

Runners call these on every request, so they hold plain numbers under one lock per route and
are compiled with the hot path; :mod:`seawall.observability.metrics` turns them into Prometheus
families at scrape time. (prometheus_client's own children cost about 2 µs per request for the
same three updates: method calls, a lock each and checks per call.) Under
``PROMETHEUS_MULTIPROC_DIR`` the counts must live in prometheus_client's per-worker files, so
:class:`FileRoute` records through its children instead, with the same interface.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable
from typing import Any, Final

__all__ = ["METHODS", "FileRoute", "RouteMetrics", "Series", "method_label"]

METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}
)
"""Methods that keep their name in ``http_request_method``; others become ``_OTHER``."""


# Final: compiled code calls it from a C static, not by a module lookup per request.
_bisect_left: Final = bisect_left


def method_label(method: str) -> str:
    """The ``http_request_method`` of a request method."""
    return method if method in METHODS else "_OTHER"


class Series:
    """One histogram series (a route, method and status): counts per bucket, sum, count."""

    __slots__ = ("counts", "total")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size  # per bucket, not cumulative; the last one is +Inf
        self.total = 0.0


class RouteMetrics:
    """One route's metrics in process: ``start()`` when a request enters, ``finish()`` when it
    ends (or ``observe()`` when another layer counted it active, and ``end()`` there)."""

    __slots__ = ("_acquire", "_bounds", "_by_status", "_lock", "_release", "active", "label")

    def __init__(self, label: str, bounds: tuple[float, ...]) -> None:
        self.label = label
        self._bounds = bounds
        self._lock = threading.Lock()
        # Bound once: compiled code calls them directly, where ``with self._lock`` looks up
        # ``__enter__`` and ``__exit__`` by name and builds the exit's arguments every call.
        self._acquire: Callable[[], bool] = self._lock.acquire
        self._release: Callable[[], None] = self._lock.release
        self._by_status: dict[int, dict[str, Series]] = {}
        self.active = 0

    def start(self) -> None:
        self._acquire()
        self.active += 1
        self._release()

    def end(self) -> None:
        self._acquire()
        self.active -= 1
        self._release()

    def finish(self, method: str, status: int, seconds: float) -> None:
        """The request ended: no longer active, its duration recorded."""
        series = self._series(method, status)
        index = _bisect_left(self._bounds, seconds)
        self._acquire()
        try:
            self.active -= 1
            series.counts[index] += 1
            series.total += seconds
        finally:
            self._release()

    def observe(self, method: str, status: int, seconds: float) -> None:
        """Record a finished request's duration (``status`` 0: none was sent, shown as 500)."""
        series = self._series(method, status)
        index = _bisect_left(self._bounds, seconds)
        self._acquire()
        try:
            series.counts[index] += 1
            series.total += seconds
        finally:
            self._release()

    def _series(self, method: str, status: int) -> Series:
        status = status or 500
        by_method = self._by_status.get(status)
        if by_method is not None:
            found = by_method.get(method)
            if found is not None:
                return found
        return self._bind(method, status)

    def _bind(self, method: str, status: int) -> Series:
        """Made once per method and status; unknown methods share ``_OTHER``, so a route holds
        at most the standard methods plus one per status."""
        with self._lock:
            by_method = self._by_status.setdefault(status, {})
            name = method_label(method)
            series = by_method.get(name)
            if series is None:
                series = by_method[name] = Series(len(self._bounds) + 1)
            if name == method:
                by_method[method] = series
            return series

    def snapshot(self) -> tuple[int, list[tuple[str, int, list[int], float]]]:
        """The active count and each series (method, status, counts, sum), read together."""
        with self._lock:
            series = [
                (method, status, list(s.counts), s.total)
                for status, by_method in self._by_status.items()
                for method, s in by_method.items()
            ]
            return self.active, series


class FileRoute(RouteMetrics):
    """:class:`RouteMetrics` over prometheus_client children, whose values live in the
    multiprocess files every worker writes (``histogram`` and ``active`` are the metrics).

    A subclass, so the runners call one type whichever way the counts are kept."""

    __slots__ = ("_children", "_gauge", "_histogram")

    def __init__(self, label: str, histogram: Any, active: Any) -> None:
        super().__init__(label, ())
        self._histogram = histogram
        self._gauge: Any = active.labels(label)
        self._children: dict[tuple[str, int], Any] = {}

    def start(self) -> None:
        self._gauge.inc()

    def end(self) -> None:
        self._gauge.dec()

    def finish(self, method: str, status: int, seconds: float) -> None:
        self._gauge.dec()
        self.observe(method, status, seconds)

    def observe(self, method: str, status: int, seconds: float) -> None:
        key = (method_label(method), status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._histogram.labels(
                key[0], self.label, str(status or 500)
            )
        child.observe(seconds)
