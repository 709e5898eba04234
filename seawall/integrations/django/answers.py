"""Seawall's own answers as Django responses: problems, fallbacks and stale answers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from seawall.server.guard import RouteGuard
from seawall.server.pipeline import Pipeline
from seawall.server.response import Rendered

__all__ = ["problem_response", "to_response"]


def problem_response(
    pipeline: Pipeline,
    request: HttpRequest,
    exc: BaseException,
    route: str | None,
    guard: RouteGuard | None = None,
) -> HttpResponse:
    """Log ``exc`` once and answer it with its problem (JSON, or HTML for browsers), or with
    the ``guard``'s fallback when the route's ``fallback_on`` has ``error``."""
    return to_response(
        pipeline.problem_response(
            exc,
            method=request.method or "GET",
            path=request.path,
            route=route,
            accept=request.META.get("HTTP_ACCEPT"),
            guard=guard,
        )
    )


def to_response(answer: Rendered) -> HttpResponse:
    """A Django response of seawall's own answer; Django will not log it again."""
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response.headers[name] = value
    response._seawall_problem = True
    response._has_been_logged = True  # read by django.utils.log.log_response
    return response
