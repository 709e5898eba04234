"""Error views for ``urls.py``: Django's own 400, 403, 404 and 500 pages as problems.

>>> handler404 = "seawall.integrations.django.views.page_not_found"

JSON clients get ``application/problem+json``, browsers a small HTML page; both carry the
correlation id and error id. The 500 view logs the failure once, sanitized.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse

from seawall.context.correlation import get_correlation_id
from seawall.integrations.django.answers import problem_response, to_response
from seawall.integrations.django.conf import get_runtime
from seawall.integrations.django.state import STATE, RequestState

__all__ = ["bad_request", "page_not_found", "permission_denied", "server_error"]


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
