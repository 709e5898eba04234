"""Django REST framework: API errors as RFC 9457 problems.

``REST_FRAMEWORK = {"EXCEPTION_HANDLER": "seawall.integrations.django.drf.exception_handler"}``.
A ``ValidationError``'s field errors become the ``errors`` member; exceptions DRF does not
handle itself propagate to :class:`SeawallMiddleware`, which answers and logs them once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from rest_framework.exceptions import APIException
from rest_framework.views import set_rollback

from seawall.integrations.django.answers import problem_response
from seawall.integrations.django.conf import get_runtime
from seawall.integrations.django.state import STATE, RequestState

__all__ = ["exception_handler"]


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> HttpResponse | None:
    """DRF's ``EXCEPTION_HANDLER``: a problem response for API errors, ``None`` for the rest.

    Like DRF's default it handles ``APIException``, ``Http404`` and ``PermissionDenied`` and
    rolls back an atomic request; headers DRF would add (``WWW-Authenticate``, ``Retry-After``;
    the view adds ``Allow``) are kept.
    """
    if not isinstance(exc, APIException | Http404 | PermissionDenied):
        return None
    drf_request = context.get("request")
    request = getattr(drf_request, "_request", drf_request)
    state: RequestState | None = getattr(request, STATE, None)
    route = None
    if state is not None:
        state.failure = exc
        pipeline, route = state.runtime.pipeline, state.route
    else:
        pipeline = get_runtime().pipeline
    response = problem_response(pipeline, request, exc, route)
    set_rollback()
    return response
