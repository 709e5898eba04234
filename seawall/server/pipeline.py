"""What every request shares, built once from settings: the protocol-free half of seawall.

The ASGI and WSGI middleware and the framework adapters translate their protocol into calls
on one :class:`Pipeline`: resolve the correlation id, find the route's guard, turn a failure
into a problem response and one sanitized log event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from seawall.config.settings import Settings
from seawall.context.correlation import CorrelationPolicy, get_correlation_id
from seawall.errors.event import error_event
from seawall.errors.exceptions import SeawallRejection
from seawall.errors.problems import Problem, ProblemRegistry
from seawall.errors.render import negotiate, render_html, render_json, response_headers
from seawall.observability.redaction import Redactor
from seawall.server.guard import GuardTable

__all__ = ["Pipeline"]


class Pipeline:
    """Correlation policy, redactor, problem registry, route guards and the seawall logger."""

    def __init__(
        self,
        settings: Settings | Any = None,
        *,
        clock: Callable[[], float] | None = None,
        logger: Any = None,
    ) -> None:
        self.settings = Settings.coerce(settings)
        self.correlation = CorrelationPolicy(self.settings.correlation)
        self.redactor = Redactor.from_settings(self.settings.redaction)
        self.problems = ProblemRegistry.from_settings(self.settings.errors)
        self.logger = logger or structlog.get_logger("seawall")
        self.guards = GuardTable(
            self.settings,
            classify=self.problems.classify_for_breaker,
            clock=clock,
            logger=self.logger,
        )

    def invalid_correlation_id(self, hint: str) -> bool:
        """Log one warning with the escaped hint; True when the request must be rejected."""
        reject = self.correlation.reject_invalid
        self.logger.warning(
            "correlation_id_invalid", hint=hint, action="rejected" if reject else "replaced"
        )
        return reject

    def problem(self, exc: BaseException, *, method: str, path: str, route: str | None) -> Problem:
        """Map ``exc`` to a problem and write its one log event."""
        problem = self.problems.to_problem(
            exc,
            correlation_id=get_correlation_id(),
            instance=path or None,
            debug=self.settings.errors.debug,
            redact=self.redactor.text,
        )
        self._report(exc, problem, method=method, route=route)
        return problem

    def render(
        self, problem: Problem, accept: str | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The status, ASGI-style headers and body of a problem, negotiated on ``accept``."""
        media = negotiate(accept, self.settings.errors.format)
        body = render_json(problem) if media == "json" else render_html(problem)
        return problem.status, response_headers(problem, media, len(body)), body

    def problem_response(
        self,
        exc: BaseException,
        *,
        method: str,
        path: str,
        route: str | None,
        accept: str | None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """:meth:`problem` then :meth:`render`."""
        return self.render(self.problem(exc, method=method, path=path, route=route), accept)

    def report_aborted(self, exc: BaseException, *, method: str, route: str | None) -> None:
        """Log a failure that happened after the response started (the stream is cut)."""
        problem = self.problems.to_problem(
            exc,
            correlation_id=get_correlation_id(),
            instance=None,
            debug=False,
            redact=self.redactor.text,
        )
        event = self._event(exc, problem, method=method, route=route)
        event["event"] = "response_aborted"
        self.logger.error(**event)

    def _report(
        self, exc: BaseException, problem: Problem, *, method: str, route: str | None
    ) -> None:
        if isinstance(exc, SeawallRejection):
            self.logger.warning(
                "request_rejected",
                reason=exc.reason,
                status=problem.status,
                method=method,
                route=route,
                error_id=problem.extensions.get("error_id"),
                correlation_id=get_correlation_id(),
            )
            return
        if problem.status < 500 and not self.settings.errors.log_client_errors:
            return
        event = self._event(exc, problem, method=method, route=route)
        if problem.status >= 500:
            self.logger.error(**event)
        else:
            self.logger.warning(**event)

    def _event(
        self, exc: BaseException, problem: Problem, *, method: str, route: str | None
    ) -> dict[str, Any]:
        return error_event(
            exc,
            problem,
            method=method,
            route=route,
            redactor_text=self.redactor.text,
            frames=self.settings.errors.traceback_frames,
            include_locals=self.settings.redaction.frame_locals,
        )
