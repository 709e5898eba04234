"""Client errors (4xx) are never a route's failure: raised or returned, the breaker stays closed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
import werkzeug.exceptions
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse

from seawall.asgi.middleware import ASGIMiddleware
from seawall.errors.problems import ProblemRegistry, problem
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, breaker_for
from seawall.wsgi.middleware import WSGIMiddleware

CLIENT_ERRORS = [400, 401, 403, 404, 405, 406, 408, 409, 410, 412, 413, 415, 416, 418, 422,
                 425, 428, 431, 451, 499]  # fmt: skip
BREAKER = {"breaker": {"consecutive_failures": 1, "minimum_calls": 1}}
SETTINGS: dict[str, Any] = {"routes": {"/x": BREAKER}}


@problem(412, "Stale version")
class StaleVersion(Exception):
    """An application error registered as a client error."""


@problem(503, "Stock service down")
class StockDown(Exception):
    """An application error registered as a server error."""


@pytest.mark.parametrize("status", CLIENT_ERRORS)
def test_raised_framework_client_errors_are_successes_for_the_breaker(status: int) -> None:
    """Starlette's and Werkzeug's HTTPException with any 4xx: ``success``, never ``failure``."""
    registry = ProblemRegistry()
    # A detail, because Starlette before 0.41 looks up the phrase of a status it does not know.
    assert registry.classify_for_breaker(StarletteHTTPException(status, "x")) == "success"
    werkzeug_error = werkzeug.exceptions.HTTPException()
    werkzeug_error.code = status
    assert registry.classify_for_breaker(werkzeug_error) == "success"


def test_429_and_rate_limited_mappings_are_ignored() -> None:
    """429 frees its slot uncounted, whatever raised it."""
    registry = ProblemRegistry()
    assert registry.classify_for_breaker(StarletteHTTPException(429)) == "ignore"
    assert registry.classify_for_breaker(werkzeug.exceptions.TooManyRequests()) == "ignore"


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504, 599])
def test_raised_server_errors_stay_failures(status: int) -> None:
    """The boundary: 5xx still count."""
    assert ProblemRegistry().classify_for_breaker(StarletteHTTPException(status, "x")) == "failure"


def test_registered_and_mapped_client_errors_are_successes() -> None:
    """``@seawall.problem(412)`` and ``errors.map`` 4xx entries do not count either."""
    registry = ProblemRegistry()
    assert registry.classify_for_breaker(StaleVersion()) == "success"
    assert registry.classify_for_breaker(StockDown()) == "failure"
    assert registry.classify_for_breaker(RuntimeError()) == "failure"


def test_django_and_drf_client_errors_are_successes() -> None:
    """Django's and DRF's own client errors, by class."""
    from tests import django_settings

    django_settings.setup()
    from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
    from django.http import Http404
    from rest_framework import exceptions

    registry = ProblemRegistry()
    for exc in (
        Http404(), PermissionDenied(), BadRequest(), SuspiciousOperation(),
        exceptions.MethodNotAllowed("DELETE"), exceptions.NotAcceptable(),
        exceptions.UnsupportedMediaType("x/y"), exceptions.ParseError(),
        exceptions.NotAuthenticated(), exceptions.ValidationError({"a": ["b"]}),
    ):  # fmt: skip
        assert registry.classify_for_breaker(exc) == "success", exc


def asgi_app(status: int, raised: bool) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if raised:
            raise StarletteHTTPException(status)
        await PlainTextResponse("no", status_code=status)(scope, receive, send)

    return app


def wsgi_app(status: int, raised: bool) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if raised:
            error = werkzeug.exceptions.HTTPException()
            error.code = status
            raise error
        start_response(f"{status} Whatever", [("Content-Type", "text/plain")])
        return [b"no"]

    return app


@pytest.mark.parametrize("raised", [True, False], ids=["raised", "returned"])
@pytest.mark.parametrize("status", [405, 406, 408, 412, 416, 431, 451])
async def test_asgi_client_errors_leave_the_breaker_closed(
    status: int, raised: bool, logs: CapturedLogs
) -> None:
    """Under ASGI, repeated 4xx answers never open a one-failure breaker."""
    pipeline = Pipeline(SETTINGS)
    app = ASGIMiddleware(asgi_app(status, raised), pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = [(await client.get("/x")).status_code for _ in range(5)]
    assert answers == [status] * 5
    assert str(breaker_for(pipeline, "GET", "/x").state) == "closed"


@pytest.mark.parametrize("raised", [True, False], ids=["raised", "returned"])
@pytest.mark.parametrize("status", [405, 406, 408, 412, 416, 431, 451])
def test_wsgi_client_errors_leave_the_breaker_closed(
    status: int, raised: bool, logs: CapturedLogs
) -> None:
    """Under WSGI, repeated 4xx answers never open a one-failure breaker."""
    pipeline = Pipeline(SETTINGS)
    app = WSGIMiddleware(wsgi_app(status, raised), pipeline=pipeline)
    transport = httpx.WSGITransport(app=app, raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        answers = [client.get("/x").status_code for _ in range(5)]
    assert answers == [status] * 5
    assert str(breaker_for(pipeline, "GET", "/x").state) == "closed"


async def test_asgi_server_errors_still_open_the_breaker(logs: CapturedLogs) -> None:
    """The contrast: a raised 503 opens the same breaker."""
    pipeline = Pipeline(SETTINGS)
    app = ASGIMiddleware(asgi_app(503, True), pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/x")
    assert str(breaker_for(pipeline, "GET", "/x").state) == "open"
