"""In every adapter, client errors (4xx, raised or returned) never open a route's breaker.

This module is also the Django URLconf of its Django test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import django_settings

django_settings.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from fastapi import APIRouter, FastAPI, HTTPException  # noqa: E402
from flask import Flask, abort  # noqa: E402
from rest_framework.exceptions import APIException  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from seawall.integrations import fastapi as seawall_fastapi  # noqa: E402
from seawall.integrations.django.conf import get_runtime, install_pipeline  # noqa: E402
from seawall.integrations.flask import Seawall  # noqa: E402
from seawall.testing import CapturedLogs, breaker_for  # noqa: E402

STATUSES = [405, 406, 408, 412, 416, 431, 451]
BREAKER = {"breaker": {"consecutive_failures": 1, "minimum_calls": 1}}
calls: list[int] = []


def test_flask_client_errors_leave_the_breaker_closed(logs: CapturedLogs) -> None:
    """Flask: ``abort(412)`` and a returned 412 alike, again and again; the breaker stays closed."""
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {
        "routes": {"GET /raise/<int:status>": BREAKER, "GET /return/<int:status>": BREAKER}
    }

    @app.get("/raise/<int:status>")
    def raised(status: int) -> Any:
        abort(status)

    @app.get("/return/<int:status>")
    def returned(status: int) -> Any:
        return "no", status

    Seawall(app)
    client = app.test_client()
    for status in STATUSES:
        for kind in ("raise", "return"):
            for _ in range(3):
                assert client.get(f"/{kind}/{status}", buffered=True).status_code == status
    pipeline = app.extensions["seawall"]
    for kind in ("raise", "return"):
        assert str(breaker_for(pipeline, "GET", f"/{kind}/1").state) == "closed"


@pytest.mark.parametrize("included", [False, True], ids=["app", "include_router"])
def test_fastapi_client_errors_leave_the_breaker_closed(included: bool, logs: CapturedLogs) -> None:
    """FastAPI: ``HTTPException(412)`` from app routes and included routers alike."""
    app = FastAPI()
    router = APIRouter()

    @router.get("/raise/{status}")
    async def raised(status: int) -> None:
        raise HTTPException(status)

    @router.get("/return/{status}")
    async def returned(status: int) -> Any:
        from fastapi.responses import PlainTextResponse

        return PlainTextResponse("no", status_code=status)

    if included:
        app.include_router(router)
    else:
        app.router.routes.extend(router.routes)
    seawall_fastapi.install(
        app, {"routes": {"GET /raise/{status}": BREAKER, "GET /return/{status}": BREAKER}}
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        for status in STATUSES:
            for kind in ("raise", "return"):
                for _ in range(3):
                    assert client.get(f"/{kind}/{status}").status_code == status
        assert client.get("/raise/503").status_code == 503  # the contrast: a 5xx opens it
        assert client.get("/raise/412").status_code == 503


class Conflict(APIView):  # type: ignore[misc]  # DRF is untyped
    def get(self, request: Request, status: int) -> Response:
        error = APIException("no")
        error.status_code = status
        raise error


def returned(request: HttpRequest, status: int) -> HttpResponse:
    return HttpResponse("no", status=status)


urlpatterns = [
    path("raise/<int:status>", Conflict.as_view()),
    path("return/<int:status>", returned),
]


@pytest.fixture
def django_routes() -> Iterator[None]:
    settings = {"routes": {"GET raise/<int:status>": BREAKER, "GET return/<int:status>": BREAKER}}
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__, SEAWALL=settings):
        yield
    install_pipeline(None)


def test_django_client_errors_leave_the_breaker_closed(
    django_routes: None, logs: CapturedLogs
) -> None:
    """Django and DRF: a raised APIException with a 4xx and a returned 4xx alike."""
    client = Client(raise_request_exception=False)
    for status in STATUSES:
        for kind in ("raise", "return"):
            for _ in range(3):
                assert client.get(f"/{kind}/{status}").status_code == status
    pipeline = get_runtime().pipeline
    for kind in ("raise", "return"):
        assert str(breaker_for(pipeline, "GET", f"/{kind}/1").state) == "closed"


REDIRECT_BREAKER = {"breaker": {"consecutive_failures": 1, "minimum_calls": 1}}


@pytest.mark.parametrize("starlette_only", [False, True])
def test_fastapi_and_starlette_redirects_raised_as_http_exceptions_are_answered(
    starlette_only: bool, logs: CapturedLogs
) -> None:
    """``raise HTTPException(307, headers={"Location": ...})`` (a common FastAPI redirect) and
    a raised 304 answer as the framework does: no 500 problem, no ``request_failed``, and the
    breaker stays closed (they opened it)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.routing import Route

    from seawall.integrations import starlette as seawall_starlette

    async def go(request: Any = None) -> None:
        raise StarletteHTTPException(307, headers={"Location": "/there"})

    async def not_modified(request: Any = None) -> None:
        raise StarletteHTTPException(304, headers={"ETag": '"v1"'})

    settings = {"routes": {"GET /go": REDIRECT_BREAKER, "GET /same": REDIRECT_BREAKER}}
    app: Any
    if starlette_only:
        app = Starlette(routes=[Route("/go", go), Route("/same", not_modified)])
        pipeline = seawall_starlette.install(app, settings)
    else:
        app = FastAPI()
        app.get("/go")(go)
        app.get("/same")(not_modified)
        pipeline = seawall_fastapi.install(app, settings)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        redirects = [client.get("/go") for _ in range(3)]
        same = [client.get("/same") for _ in range(3)]
    assert [(r.status_code, r.headers["location"]) for r in redirects] == [(307, "/there")] * 3
    assert [(r.status_code, r.headers["etag"], r.content) for r in same] == [(304, '"v1"', b"")] * 3
    assert breaker_for(pipeline, "GET", "/go").state == "closed"
    assert breaker_for(pipeline, "GET", "/same").state == "closed"
    assert logs.named("request_failed") == []


def test_flask_http_exceptions_below_400_are_answered_as_flask_does(logs: CapturedLogs) -> None:
    """A Werkzeug ``HTTPException`` with a 3xx code answers with its own response, as plain
    Flask does, instead of a 500 problem counted by the breaker."""
    from werkzeug.exceptions import HTTPException as WerkzeugHTTPException

    class NotModified(WerkzeugHTTPException):
        code = 304

    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {"routes": {"GET /same": REDIRECT_BREAKER}}

    @app.get("/same")
    def same() -> Any:
        raise NotModified()

    Seawall(app)
    pipeline = app.extensions["seawall"]
    client = app.test_client()
    assert [client.get("/same", buffered=True).status_code for _ in range(3)] == [304] * 3
    assert breaker_for(pipeline, "GET", "/same").state == "closed"
    assert logs.named("request_failed") == []
