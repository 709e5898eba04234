"""What every request shares, built once from settings: the protocol-free half of seawall.

The ASGI and WSGI middleware and the framework adapters translate their protocol into calls
on one :class:`Pipeline`: resolve the correlation id, find the route's guard, turn a failure
into a problem response. What it decides goes out as events on :attr:`Pipeline.events`; the
log (one sanitized line per failure) is a subscriber.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from seawall.clock import monotonic
from seawall.config.settings import Settings
from seawall.context.correlation import CorrelationPolicy, get_correlation_id
from seawall.errors.exceptions import SeawallRejection
from seawall.errors.problems import Problem, ProblemRegistry
from seawall.errors.render import negotiate, render_html, render_json, response_headers
from seawall.observability.alerts.engine import Alerts
from seawall.observability.analytics import ErrorAnalytics
from seawall.observability.events import (
    BUS,
    AnswerFailed,
    CorrelationIdInvalid,
    EventBus,
    HeadersDropped,
    RequestFailed,
    RequestRejected,
    ResponseAborted,
)
from seawall.observability.health import Health
from seawall.observability.log_events import EventLog
from seawall.observability.redaction import Redactor
from seawall.resilience.bulkhead import Bulkhead
from seawall.resilience.registry import BreakerRegistry
from seawall.server.admin import AdminAPI
from seawall.server.endpoints import Endpoints
from seawall.server.guard import GuardTable, RouteGuard
from seawall.server.response import Rendered, last_resort
from seawall.state import StateBackend, alert_memory, open_state

if TYPE_CHECKING:
    from seawall.observability.metrics import Metrics

if TYPE_CHECKING:
    from seawall.client.dependencies import Dependencies

__all__ = ["Pipeline"]


class Pipeline:
    """Correlation policy, redactor, problem registry, route guards, the event bus, the
    operational endpoints (:attr:`health` always, :attr:`metrics` when enabled, the admin API
    with a token), the error :attr:`analytics` and :attr:`alerts`, and where breaker state is
    shared (:attr:`state`).

    ``events`` forwards to the process-wide bus (:func:`seawall.events.subscribe`); the
    ``seawall`` logger (or ``logger``) writes its events.
    """

    def __init__(
        self,
        settings: Settings | Any = None,
        *,
        clock: Callable[[], float] | None = None,
        logger: Any = None,
    ) -> None:
        self.settings = settings = Settings.coerce(settings)
        self.correlation = CorrelationPolicy(settings.correlation)
        self.redactor = Redactor.from_settings(settings.redaction)
        self.problems = ProblemRegistry.from_settings(settings.errors)
        self.events = EventBus(parent=BUS)
        self.logger = logger or structlog.get_logger("seawall")
        EventLog(
            self.logger,
            self.redactor,
            frames=settings.errors.traceback_frames,
            include_locals=settings.redaction.frame_locals,
            log_client_errors=settings.errors.log_client_errors,
        ).attach(self.events)
        self.endpoints = Endpoints()  # health, metrics, admin: answered before route policies
        self.breakers = BreakerRegistry()
        self.guards = GuardTable(
            settings,
            classify=self.problems.classify_for_breaker,
            clock=clock,
            events=self.events,
            breakers=self.breakers,
        )
        self.dependencies: Dependencies | None = None
        if settings.dependencies or settings.correlation.propagate_to:
            from seawall.client.dependencies import Dependencies

            # The newest install is seawall.dependency()'s default: see client.dependencies.
            self.dependencies = Dependencies(settings, events=self.events, clock=clock)
            for _name, breaker, critical in self.dependencies.breakers():
                # Readiness, metrics, shared state and the admin API see them like routes'.
                self.breakers.add(breaker, kind="dependency", critical=critical)
        self.state: StateBackend = open_state(
            settings.state, self.breakers, self.events, clock=clock
        )
        self.analytics = ErrorAnalytics(
            redact=self.redactor.text,
            max_fingerprints=settings.analytics.max_fingerprints,
            window=spike.window if (spike := settings.alerts.rules.error_spike) else 300,
            client_errors=settings.errors.log_client_errors,
            clock=clock or monotonic,
        )
        self.alerts = Alerts(
            settings.alerts,
            redact=self.redactor.text,
            breakers=self.breakers,
            shared=alert_memory(self.state),
            clock=clock or monotonic,
        )
        if settings.analytics.enabled:
            self.analytics.attach(self.events)
        self.alerts.attach(self.events)
        self.alerts.start()
        self.health = Health(
            settings.health,
            breakers=self.breakers,
            token=settings.admin.token,
            redact=self.redactor.text,
            clock=clock,
            events=self.events,
        )
        self.health.mount(self.endpoints)
        self.metrics: Metrics | None = None
        if settings.metrics.enabled:
            from seawall.observability.metrics import Metrics  # needs the prometheus extra

            self.metrics = Metrics(
                settings.metrics,
                events=self.events,
                breakers=self.breakers,
                bulkheads=self._bulkheads,
            )
            self.metrics.mount(self.endpoints)
        AdminAPI(self).mount()

    def close(self) -> None:
        """Stop what this pipeline started: its alert outbox on the process's worker, the
        shared state's threads and connections, the metrics sampler, the health checks' pool.
        Adapters call it when they replace a pipeline (Django on ``setting_changed``)."""
        self.alerts.close()
        self.state.close()
        if self.metrics is not None:
            self.metrics.close()
        self.health.close()

    def _bulkheads(self) -> list[Bulkhead]:
        return [g.engine.bulkhead for g in self.guards.made if g.engine.bulkhead is not None]

    def invalid_correlation_id(self, hint: str) -> bool:
        """Publish the invalid id's escaped hint; True when the request must be rejected."""
        reject = self.correlation.reject_invalid
        self.events.publish(CorrelationIdInvalid(hint, "rejected" if reject else "replaced"))
        return reject

    def problem(self, exc: BaseException, *, method: str, path: str, route: str | None) -> Problem:
        """Map ``exc`` to a problem and publish the failure (or rejection)."""
        problem = self.problems.to_problem(
            exc,
            correlation_id=get_correlation_id(),
            instance=path or None,
            debug=self.settings.errors.debug,
            redact=self.redactor.text,
        )
        if isinstance(exc, SeawallRejection):
            self.events.publish(
                RequestRejected(
                    exc.reason,
                    problem.status,
                    method,
                    route,
                    problem.extensions.get("error_id"),
                    get_correlation_id(),
                )
            )
        else:
            self.events.publish(RequestFailed(exc, problem, method, route))
        if problem.dropped_headers:
            self.events.publish(HeadersDropped(method, route, problem.dropped_headers))
        return problem

    def render(self, problem: Problem, accept: str | None) -> Rendered:
        """The whole response of a problem, negotiated on ``accept``."""
        media = negotiate(accept, self.settings.errors.format)
        body = render_json(problem) if media == "json" else render_html(problem)
        return Rendered(problem.status, response_headers(problem, media, len(body)), body)

    def problem_response(
        self,
        exc: BaseException,
        *,
        method: str,
        path: str,
        route: str | None,
        accept: str | None,
        guard: RouteGuard | None = None,
    ) -> Rendered:
        """:meth:`problem` then :meth:`render`; if that fails, the last-resort 500 (so whatever
        the exception, the client gets a problem with its correlation id). With the route's
        ``guard``, a 5xx failure is answered by its fallback when ``fallback_on`` has ``error``."""
        try:
            problem = self.problem(exc, method=method, path=path, route=route)
            if guard is not None and guard.fallback_on_error and not _refusal(exc):
                answer = guard.error_answer(problem.status, method, path)
                if answer is not None:
                    return answer
            return self.render(problem, accept)
        except Exception as error:
            return self.last_resort(exc, error, method=method, route=route)

    async def aproblem_response(
        self,
        exc: BaseException,
        *,
        method: str,
        path: str,
        route: str | None,
        accept: str | None,
        guard: RouteGuard | None = None,
    ) -> Rendered:
        """:meth:`problem_response` for coroutines: the fallback may be a coroutine function."""
        if guard is None or not guard.fallback_on_error or _refusal(exc):
            return self.problem_response(exc, method=method, path=path, route=route, accept=accept)
        try:
            problem = self.problem(exc, method=method, path=path, route=route)
            answer = await guard.aerror_answer(problem.status, method, path)
            return answer if answer is not None else self.render(problem, accept)
        except Exception as error:
            return self.last_resort(exc, error, method=method, route=route)

    def last_resort(
        self, exc: BaseException, error: BaseException, *, method: str, route: str | None
    ) -> Rendered:
        """The fixed 500 problem for a failure seawall could not render, and its event."""
        answer, error_id = last_resort(get_correlation_id())
        # The answer must go out even if the report cannot (listeners' errors are caught already).
        with contextlib.suppress(Exception):
            self.events.publish(
                AnswerFailed(method, route, _class_name(exc), _class_name(error), error_id)
            )
        return answer

    def report_aborted(self, exc: BaseException, *, method: str, route: str | None) -> None:
        """Publish a failure that happened after the response started (the stream is cut)."""
        try:
            problem = self.problems.to_problem(
                exc,
                correlation_id=get_correlation_id(),
                instance=None,
                debug=False,
                redact=self.redactor.text,
            )
        except Exception as error:  # the stream is cut all the same; say what could be said
            self.last_resort(exc, error, method=method, route=route)
            return
        self.events.publish(ResponseAborted(exc, problem, method, route))


def _class_name(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def _refusal(exc: BaseException) -> bool:
    """Seawall's own refusals have their own fallback rule (``fallback_on: rejected``)."""
    return isinstance(exc, SeawallRejection)
