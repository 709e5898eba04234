"""Error views for ``urls.py``: Django's own 400, 403, 404 and 500 pages as problems, and a
CSRF failure view.

>>> handler404 = "seawall.integrations.django.views.page_not_found"
>>> CSRF_FAILURE_VIEW = "seawall.integrations.django.views.csrf_failure"

JSON clients get ``application/problem+json``, browsers a small HTML page; both carry the
correlation id and error id. The 500 view logs the failure once, sanitized.
"""

from __future__ import annotations

import dataclasses
import sys

from django.http import HttpRequest, HttpResponse
from django.views.csrf import csrf_failure as django_csrf_failure

from seawall.context.correlation import get_correlation_id
from seawall.errors.problems import TYPE_BASE
from seawall.errors.render import negotiate
from seawall.integrations.django.answers import problem_response, to_response
from seawall.integrations.django.conf import get_runtime
from seawall.integrations.django.state import STATE, RequestState
from seawall.server.pipeline import Pipeline

__all__ = ["bad_request", "csrf_failure", "page_not_found", "permission_denied", "server_error"]

CSRF_TYPE = TYPE_BASE + "csrf_failed"
"""``type`` of the problem a CSRF failure answers API clients with."""


def bad_request(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    """``handler400``."""
    return _answer(request, exception, 400)


def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    """``handler403``."""
    return _answer(request, exception, 403)


def page_not_found(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    """``handler404``."""
    return _answer(request, exception, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it while handling the exception, so it can log it once."""
    return _answer(request, sys.exc_info()[1], 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: API clients (a JSON body, or an ``Accept`` that does not prefer
    HTML) get a 403 problem saying why; browsers get Django's own page."""
    pipeline = _pipeline(request)
    accept = request.META.get("HTTP_ACCEPT")
    if not _sends_json(request) and negotiate(accept, pipeline.settings.errors.format) == "html":
        return django_csrf_failure(request, reason)
    problem = pipeline.problems.problem_for_status(
        403, correlation_id=get_correlation_id(), instance=request.path
    )
    detail = f"CSRF verification failed. {reason}".strip()
    problem = dataclasses.replace(
        problem,
        type=CSRF_TYPE,
        title="CSRF verification failed",
        detail=pipeline.redactor.text(detail),
        classification="authorization",
    )
    return to_response(pipeline.render(problem, None))  # JSON: the client is not a browser


def _sends_json(request: HttpRequest) -> bool:
    media = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _pipeline(request: HttpRequest) -> Pipeline:
    state: RequestState | None = getattr(request, STATE, None)
    return (state.runtime if state is not None else get_runtime()).pipeline


def _answer(request: HttpRequest, exception: BaseException | None, status: int) -> HttpResponse:
    state: RequestState | None = getattr(request, STATE, None)
    pipeline = (state.runtime if state is not None else get_runtime()).pipeline
    if exception is not None:
        if state is not None and state.failure is None:
            state.failure = exception
        # Known exceptions map to this status; anything behind a 500 is logged once here.
        if status >= 500 or pipeline.problems.spec_for(type(exception)) is not None:
            route = state.route if state is not None else None
            return problem_response(pipeline, request, exception, route)
    problem = pipeline.problems.problem_for_status(
        status, correlation_id=get_correlation_id(), instance=request.path
    )
    return to_response(pipeline.render(problem, request.META.get("HTTP_ACCEPT")))
