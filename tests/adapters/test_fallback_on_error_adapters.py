"""Every adapter applies ``fallback_on: ["error"]``: the route's fallback answers its 5xx failures.

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
from fastapi import FastAPI  # noqa: E402
from flask import Flask  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from seawall.guard import FallbackRequest  # noqa: E402
from seawall.integrations import fastapi as seawall_fastapi  # noqa: E402
from seawall.integrations import starlette as seawall_starlette  # noqa: E402
from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.integrations.flask import Seawall  # noqa: E402
from seawall.testing import CapturedLogs  # noqa: E402


def degraded(request: FallbackRequest) -> dict[str, Any]:
    return {"items": [], "degraded": request.reason}


POLICY = {"fallback": f"{__name__}.degraded", "fallback_on": ["rejected", "error"]}


def assert_degraded(
    status: int, body: Any, fallback_header: str | None, logs: CapturedLogs
) -> None:
    assert status == 200
    assert body == {"items": [], "degraded": "error"}
    assert fallback_header == "error"
    assert len(logs.named("request_failed")) == 1


def test_flask(logs: CapturedLogs) -> None:
    """Flask: the view's exception is logged, the fallback answers."""
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {"routes": {"GET /items": POLICY}}

    @app.get("/items")
    def items() -> Any:
        raise ConnectionError("stock service down")

    Seawall(app)
    response = app.test_client().get("/items", buffered=True)
    assert_degraded(
        response.status_code, response.json, response.headers.get("Seawall-Fallback"), logs
    )


def test_fastapi(logs: CapturedLogs) -> None:
    """FastAPI (app routes): the endpoint's exception degrades to the fallback."""
    app = FastAPI()

    @app.get("/items")
    async def items() -> None:
        raise RuntimeError("db down")

    seawall_fastapi.install(app, {"routes": {"GET /items": POLICY}})
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/items")
    assert_degraded(
        response.status_code, response.json(), response.headers.get("seawall-fallback"), logs
    )


def test_starlette(logs: CapturedLogs) -> None:
    """Starlette: the same."""

    async def items(request: Request) -> None:
        raise RuntimeError("db down")

    app = Starlette(routes=[Route("/items", items)])
    seawall_starlette.install(app, {"routes": {"GET /items": POLICY}})
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/items")
    assert_degraded(
        response.status_code, response.json(), response.headers.get("seawall-fallback"), logs
    )


def items_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("db down")


urlpatterns = [path("items", items_view)]


@pytest.fixture
def django_routes() -> Iterator[None]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__, SEAWALL={"routes": {"GET items": POLICY}}):
        yield
    install_pipeline(None)


def test_django(django_routes: None, logs: CapturedLogs) -> None:
    """Django: ``process_exception`` answers with the fallback."""
    import json

    response = Client(raise_request_exception=False).get("/items")
    body = json.loads(response.content)
    assert_degraded(response.status_code, body, response.headers.get("Seawall-Fallback"), logs)
