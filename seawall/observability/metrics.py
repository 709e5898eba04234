"""Prometheus metrics of one app: request durations per route, and what seawall decided.

Request metrics are recorded by the runners through :class:`RouteMetrics`: the children of
each route's label are bound once and cached, so a request costs a few dict lookups and the
increments, however many routes the app has. Everything else (rejections, errors, breaker
transitions, fallbacks, stale answers) comes from the event bus; breaker states and bulkhead
levels are sampled from the app's breakers and guards at each scrape (and every second per
worker under ``PROMETHEUS_MULTIPROC_DIR``, where each worker writes its own files).

Calls to dependencies (``dependencies`` settings) are counted from their events: each httpx
attempt, each whole call, each retry decision, each dependency breaker transition. The depths
of the dead-letter queues are read from the store at most every few seconds.

Labels stay bounded whatever URLs arrive: routes are templates (``(unmatched)`` for requests
no route knows), dependencies are the names the settings give, methods outside the HTTP
standard become ``_OTHER``, and an attempt that got no answer has the status ``0``.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from time import monotonic
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from seawall.config.schema import MetricsSettings
from seawall.observability.events import (
    BreakerStateChanged,
    DependencyBreakerChanged,
    DependencyCalled,
    DependencyRequest,
    DependencyRetry,
    EventBus,
    FallbackFailed,
    FallbackServed,
    RequestFailed,
    RequestRejected,
    ResponseAborted,
    StaleServed,
    StateUnavailable,
)
from seawall.observability.metric_files import collect, compact
from seawall.observability.request_metrics import METHODS, FileRoute, RouteMetrics
from seawall.resilience.breaker import State
from seawall.resilience.bulkhead import Bulkhead
from seawall.resilience.registry import BreakerRegistry
from seawall.server.endpoints import EndpointRequest, Endpoints
from seawall.server.response import Rendered

if TYPE_CHECKING:
    from seawall.dead_letter.queue import DeadLetters

__all__ = [
    "DURATION_BUCKETS",
    "METHODS",
    "NO_STATUS",
    "UNMATCHED",
    "Metrics",
    "RouteMetrics",
    "exposition",
    "label_of",
]

DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
"""The OpenTelemetry HTTP server duration buckets, in seconds."""

UNMATCHED = "(unmatched)"
"""The ``http_route`` of requests that no route template matched."""

_STATES = tuple(str(state) for state in State)
_DURATION = "http_server_request_duration_seconds"
_DURATION_HELP = "Duration of HTTP server requests."
_DURATION_LABELS = ["http_request_method", "http_route", "http_response_status_code"]
_ACTIVE = "http_server_active_requests"
_ACTIVE_HELP = "Number of active HTTP server requests."
_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
_SAMPLE_EVERY = 1.0
_DEAD_LETTERS_EVERY = 5.0  # seconds between two reads of the dead-letter depths (a query each)
NO_STATUS = "0"
"""The ``http_response_status_code`` of a dependency attempt that got no answer (it raised)."""


def label_of(key: str | None) -> str:
    """The ``http_route`` of a route key: its template without the method (``GET /items/{id}``
    gives ``/items/{id}``); no key gives :data:`UNMATCHED`."""
    if not key:
        return UNMATCHED
    method, sep, template = key.partition(" ")
    return template if sep and method.isupper() else key


class Metrics:
    """The metrics of one pipeline, in a registry of its own (apps built side by side in one
    process, as in tests, never clash); ``registry`` to use another. ``dead_letters`` gives the
    dead-letter queue whose depths to show (default: the process-wide one, once opened)."""

    def __init__(
        self,
        settings: MetricsSettings,
        *,
        events: EventBus,
        breakers: BreakerRegistry,
        bulkheads: Callable[[], Iterable[Bulkhead]] = tuple,
        dead_letters: Callable[[], DeadLetters | None] | None = None,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.settings = settings
        self.registry = CollectorRegistry() if registry is None else registry
        self.breakers = breakers
        self._bulkheads = bulkheads
        self._dead_letters = dead_letters or _opened_dead_letters
        self._clock = clock
        self._depths_at: float | None = None
        self._queues: set[str] = set()
        self.directory = os.environ.get(_MULTIPROC) or None
        r = self.registry
        self.bounds = settings.buckets or DURATION_BUCKETS
        self.duration: Histogram | None = None  # prometheus_client's, under multiprocess only
        self.active: Gauge | None = None
        if self.directory is None:
            r.register(_RequestCollector(self))
        else:
            self.duration = Histogram(
                _DURATION, _DURATION_HELP, _DURATION_LABELS, buckets=self.bounds, registry=r
            )
            self.active = Gauge(
                _ACTIVE, _ACTIVE_HELP, ["http_route"], registry=r, multiprocess_mode="livesum"
            )
        self.rejections = Counter(
            "seawall_rejections", "Requests seawall refused, by reason.",
            ["http_route", "reason"], registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "seawall_errors", "Failed requests, by classification.",
            ["http_route", "classification"], registry=r,
        )  # fmt: skip
        self.breaker_state = Gauge(
            "seawall_breaker_state", "1 for each breaker's current state, 0 for the others.",
            ["breaker", "state"], registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.transitions = Counter(
            "seawall_breaker_transitions", "Breaker state transitions.",
            ["breaker", "from_state", "to_state"], registry=r,
        )  # fmt: skip
        self.bulkhead_active = Gauge(
            "seawall_bulkhead_active", "Requests holding a slot of the bulkhead.",
            ["bulkhead"], registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.bulkhead_queued = Gauge(
            "seawall_bulkhead_queued", "Requests waiting for a slot of the bulkhead.",
            ["bulkhead"], registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.fallbacks = Counter(
            "seawall_fallbacks", "Refused requests answered by a fallback (or not).",
            ["http_route", "reason", "outcome"], registry=r,
        )  # fmt: skip
        self.stale = Counter(
            "seawall_stale_responses", "Refused requests answered with a stale response.",
            ["http_route"], registry=r,
        )  # fmt: skip
        self.state_outages = Counter(
            "seawall_state_outages", "Times the shared state backend stopped answering.",
            ["backend"], registry=r,
        )  # fmt: skip
        self.client_duration = Histogram(
            "http_client_request_duration_seconds", "Duration of HTTP client requests.",
            ["dependency", "http_request_method", "http_response_status_code"],
            buckets=self.bounds, registry=r,
        )  # fmt: skip
        self.dependency_calls = Counter(
            "seawall_dependency_calls", "Calls to dependencies (all their attempts), by outcome.",
            ["dependency", "outcome"], registry=r,
        )  # fmt: skip
        self.retries = Counter(
            "seawall_retries", "Retry decisions after a failed dependency attempt, by outcome.",
            ["dependency", "outcome"], registry=r,
        )  # fmt: skip
        self.dead_letters = Gauge(
            "seawall_dead_letters", "Entries waiting in each dead-letter queue.",
            ["queue"], registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self._routes: dict[str, RouteMetrics] = {}
        self._keys: dict[str | None, RouteMetrics] = {}
        self._lock = threading.Lock()
        self.unmatched = self.route(UNMATCHED)
        self._subscribe(events)
        self._sampler: _Sampler | None = None
        if self.directory is not None:
            compact(self.directory)
            self._sampler = _Sampler(self)
            self._sampler.start()

    def close(self) -> None:
        """Stop the sampler thread (multiprocess only); the registry stays readable."""
        if self._sampler is not None:
            self._sampler.stop()

    # -- request metrics -----------------------------------------------------------------

    def route(self, label: str) -> RouteMetrics:
        """The metrics of the route labelled ``label`` (a template), made once."""
        found = self._routes.get(label)
        if found is None:
            with self._lock:
                found = self._routes.get(label)
                if found is None:
                    if self.duration is None or self.active is None:
                        found = RouteMetrics(label, self.bounds)
                    else:
                        found = FileRoute(label, self.duration, self.active)
                    self._routes = {**self._routes, label: found}  # scrapes read a snapshot
        return found

    def routes(self) -> list[RouteMetrics]:
        """Every route's metrics made so far."""
        return list(self._routes.values())

    def for_key(self, key: str | None) -> RouteMetrics:
        """The metrics of a route key (``GET /items/{id}``), cached by key."""
        found = self._keys.get(key)
        if found is None:
            found = self._keys[key] = self.route(label_of(key))
        return found

    def for_scope(self, scope: Mapping[str, Any]) -> RouteMetrics:
        """The metrics of an ASGI request no seawall layer labelled: by the template of the
        route Starlette matched (``scope["route"]``), else :data:`UNMATCHED`. A route of a
        router that FastAPI (0.16x) includes lazily carries its prefix in FastAPI's own record
        of the request, read first."""
        fastapi = scope.get("fastapi")
        context = fastapi.get("effective_route_context") if isinstance(fastapi, dict) else None
        template = getattr(context, "path_format", None)
        if not isinstance(template, str):
            template = getattr(scope.get("route"), "path_format", None)
        return self.route(template) if isinstance(template, str) else self.unmatched

    # -- events --------------------------------------------------------------------------

    def _subscribe(self, events: EventBus) -> None:
        events.subscribe(RequestRejected, self._rejected)
        events.subscribe(RequestFailed, self._failed)
        events.subscribe(ResponseAborted, self._failed)
        events.subscribe(BreakerStateChanged, self._transition)
        events.subscribe(FallbackServed, self._fallback_served)
        events.subscribe(FallbackFailed, self._fallback_failed)
        events.subscribe(StaleServed, self._stale)
        events.subscribe(StateUnavailable, self._state_outage)
        events.subscribe(DependencyRequest, self._dependency_request)
        events.subscribe(DependencyCalled, self._dependency_called)
        events.subscribe(DependencyRetry, self._dependency_retry)
        events.subscribe(DependencyBreakerChanged, self._dependency_transition)

    def _rejected(self, event: RequestRejected) -> None:
        self.rejections.labels(label_of(event.route), event.reason).inc()

    def _failed(self, event: RequestFailed | ResponseAborted) -> None:
        self.errors.labels(label_of(event.route), event.problem.classification).inc()

    def _transition(self, event: BreakerStateChanged) -> None:
        self.transitions.labels(event.route, event.old_state, event.new_state).inc()
        self._set_state(event.route, event.new_state)

    def _fallback_served(self, event: FallbackServed) -> None:
        self.fallbacks.labels(label_of(event.route), event.reason, "served").inc()

    def _fallback_failed(self, event: FallbackFailed) -> None:
        self.fallbacks.labels(label_of(event.route), event.reason, "failed").inc()

    def _stale(self, event: StaleServed) -> None:
        self.stale.labels(label_of(event.route)).inc()

    def _state_outage(self, event: StateUnavailable) -> None:
        self.state_outages.labels(event.backend).inc()

    def _dependency_request(self, event: DependencyRequest) -> None:
        method = event.method if event.method in METHODS else "_OTHER"
        status = NO_STATUS if event.status is None else str(event.status)
        dependency = event.dependency or UNMATCHED
        self.client_duration.labels(dependency, method, status).observe(event.duration)

    def _dependency_called(self, event: DependencyCalled) -> None:
        self.dependency_calls.labels(event.dependency, event.outcome).inc()

    def _dependency_retry(self, event: DependencyRetry) -> None:
        self.retries.labels(event.dependency, event.outcome).inc()

    def _dependency_transition(self, event: DependencyBreakerChanged) -> None:
        self.transitions.labels(event.dependency, event.old_state, event.new_state).inc()
        self._set_state(event.dependency, event.new_state)

    # -- sampled levels ------------------------------------------------------------------

    def _set_state(self, name: str, current: str) -> None:
        for state in _STATES:
            self.breaker_state.labels(name, state).set(1 if state == current else 0)

    def sample(self) -> None:
        """Set the breaker-state and bulkhead gauges from the breakers and bulkheads now."""
        for entry in self.breakers:
            self._set_state(entry.name, str(entry.breaker.state))
        for bulkhead in self._bulkheads():
            snapshot = bulkhead.snapshot()
            self.bulkhead_active.labels(bulkhead.name).set(snapshot.in_use)
            self.bulkhead_queued.labels(bulkhead.name).set(snapshot.queued)
        self._sample_dead_letters()

    def _sample_dead_letters(self) -> None:
        """Read the dead-letter depths, at most every few seconds (each read is a query);
        a queue emptied since shows 0. A store that fails keeps the last values shown."""
        now = self._clock()
        if self._depths_at is not None and now - self._depths_at < _DEAD_LETTERS_EVERY:
            return
        self._depths_at = now
        store = self._dead_letters()
        if store is None:
            return
        try:
            depths = store.depths()
        except Exception:  # a store that is down must not fail the scrape; retried later
            return
        for queue in self._queues - depths.keys():
            self.dead_letters.labels(queue).set(0)
        for queue, depth in depths.items():
            self.dead_letters.labels(queue).set(depth)
        self._queues |= depths.keys()

    # -- exposition ----------------------------------------------------------------------

    def mount(self, endpoints: Endpoints) -> None:
        """Serve the exposition at the settings' path."""
        endpoints.add(self.settings.path, self.answer)

    def answer(self, request: EndpointRequest) -> Rendered:
        """The text exposition of this app (all live and dead workers' under multiprocess)."""
        self.sample()
        body = exposition(self.registry, self.directory)
        headers = [
            ("content-type", CONTENT_TYPE_LATEST),
            ("content-length", str(len(body))),
            ("cache-control", "no-store"),
        ]
        return Rendered(200, headers, body)


def _opened_dead_letters() -> DeadLetters | None:
    """The process-wide dead-letter queue if the app opened it (a scrape opens none)."""
    from seawall import dead_letter

    return dead_letter.opened()


def exposition(registry: CollectorRegistry | None = None, directory: str | None = None) -> bytes:
    """The Prometheus text of ``registry`` and the process-wide default registry; with a
    multiprocess ``directory``, every worker's files merged instead (dead workers' compacted).

    >>> body = seawall.metrics.exposition(pipeline.metrics.registry)  # doctest: +SKIP
    """
    if directory is not None:
        return collect(directory)
    own = b"" if registry is None else generate_latest(registry)
    return own + generate_latest(REGISTRY)


class _RequestCollector:
    """The request metrics of one app in process, as Prometheus families at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return self.collect(empty=True)

    def collect(self, empty: bool = False) -> list[Metric]:
        duration = HistogramMetricFamily(_DURATION, _DURATION_HELP, labels=_DURATION_LABELS)
        active = GaugeMetricFamily(_ACTIVE, _ACTIVE_HELP, labels=["http_route"])
        bounds = [repr(float(b)) for b in self._metrics.bounds] + ["+Inf"]
        for route in () if empty else self._metrics.routes():
            if isinstance(route, FileRoute):  # counted in the multiprocess files
                continue
            count, series = route.snapshot()
            active.add_metric([route.label], count)
            for method, status, counts, total in series:
                cumulative = list(zip(bounds, itertools.accumulate(counts), strict=True))
                duration.add_metric([method, route.label, str(status)], cumulative, total)
        return [duration, active]


class _Sampler(threading.Thread):
    """Under multiprocess, each worker writes its own gauges: sample them every second."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(name="seawall-metrics", daemon=True)
        self._metrics = weakref.ref(metrics)
        self._wake = threading.Event()  # set by stop(): a timer that sleeps without a lock

    def stop(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while not self._wake.wait(_SAMPLE_EVERY):
            metrics = self._metrics()
            if metrics is None:
                return
            try:
                metrics.sample()
            except Exception:  # a sample is retried next second; the thread must not die
                continue
            finally:
                del metrics
