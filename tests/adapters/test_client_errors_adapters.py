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
