"""What every request shares, built once from settings: the protocol-free half of seawall.

The ASGI and WSGI middleware and the framework adapters translate their protocol into calls
on one :class:`Pipeline`: resolve the correlation id, find the route's guard, turn a failure
into a problem response. What it decides goes out as events on :attr:`Pipeline.events`; the
log (one sanitized line per failure) is a subscriber.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from seawall.config.settings import Settings
from seawall.context.correlation import CorrelationPolicy, get_correlation_id
from seawall.errors.exceptions import SeawallRejection
from seawall.errors.problems import Problem, ProblemRegistry
from seawall.errors.render import negotiate, render_html, render_json, response_headers
from seawall.observability.events import (
    BUS,
    CorrelationIdInvalid,
    EventBus,
    RequestFailed,
    RequestRejected,
    ResponseAborted,
)
from seawall.observability.log_events import EventLog
from seawall.observability.redaction import Redactor
from seawall.server.guard import GuardTable
from seawall.server.response import Rendered

if TYPE_CHECKING:
    from seawall.client.dependencies import Dependencies

__all__ = ["Pipeline"]


class Pipeline:
    """Correlation policy, redactor, problem registry, route guards and the event bus.

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
        self.guards = GuardTable(
            settings, classify=self.problems.classify_for_breaker, clock=clock, events=self.events
        )
        self.dependencies: Dependencies | None = None
        if settings.dependencies or settings.correlation.propagate_to:
            from seawall.client.dependencies import Dependencies

            # The newest install is seawall.dependency()'s default: see client.dependencies.
            self.dependencies = Dependencies(settings, events=self.events, clock=clock)

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
    ) -> Rendered:
        """:meth:`problem` then :meth:`render`."""
        return self.render(self.problem(exc, method=method, path=path, route=route), accept)

    def report_aborted(self, exc: BaseException, *, method: str, route: str | None) -> None:
        """Publish a failure that happened after the response started (the stream is cut)."""
        problem = self.problems.to_problem(
            exc,
            correlation_id=get_correlation_id(),
            instance=None,
            debug=False,
            redact=self.redactor.text,
        )
        self.events.publish(ResponseAborted(exc, problem, method, route))
