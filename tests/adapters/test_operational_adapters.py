"""Health and metrics in every framework: plain ASGI and WSGI, Starlette, FastAPI, Flask, and
Django under WSGI and ASGI, each serving both paths and counting only the app's requests.

This module is also the Django tests' URLconf.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests import django_settings

django_settings.setup()

import httpx  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from fastapi import APIRouter, FastAPI  # noqa: E402
from flask import Flask  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from seawall.asgi.middleware import ASGIMiddleware  # noqa: E402
from seawall.integrations import fastapi as seawall_fastapi  # noqa: E402
from seawall.integrations import starlette as seawall_starlette  # noqa: E402
from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.integrations.flask import Seawall  # noqa: E402
from seawall.wsgi.middleware import WSGIMiddleware  # noqa: E402
from tests.unit.test_metrics import count, samples  # noqa: E402

checked: list[str] = []


def database() -> bool:
    checked.append("database")
    return True


SETTINGS: dict[str, Any] = {
    "metrics": {"enabled": True},
    "health": {"checks": {"database": database}},
    "routes": {"GET /items/{id}": {"timeout": 5}},
}


def django_item(request: HttpRequest, id: int) -> JsonResponse:
    return JsonResponse({"id": id})


urlpatterns = [path("items/<int:id>/", django_item)]


async def starlette_item(request: Request) -> PlainTextResponse:
    return PlainTextResponse("item")


async def plain_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"item"})


def plain_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [])
    return [b"item"]


def fastapi_app() -> FastAPI:
    app = FastAPI()
    router = APIRouter()

    @app.get("/items/{id}")
    async def item(id: int) -> dict[str, int]:
        return {"id": id}

    @router.get("/items/{id}")
    async def routed(id: int) -> dict[str, int]:
        return {"id": id}

    app.include_router(router, prefix="/api")
    seawall_fastapi.install(app, SETTINGS)
    return app


def flask_app() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False, SEAWALL=SETTINGS)

    @app.get("/items/<int:id>")
    def item(id: int) -> dict[str, int]:
        return {"id": id}

    Seawall(app)
    return app


def starlette_app() -> Starlette:
    app = Starlette(routes=[Route("/items/{id}", starlette_item)])
    seawall_starlette.install(app, SETTINGS)
    return app


@pytest.fixture(autouse=True)
def django_with_metrics() -> Iterator[None]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__, SEAWALL=SETTINGS):
        yield
    install_pipeline(None)


@asynccontextmanager
async def client_for(kind: str) -> AsyncIterator[httpx.AsyncClient | httpx.Client]:
    base = "http://testserver"
    if kind in ("asgi", "starlette", "fastapi", "django-asgi"):
        app: Any = {
            "asgi": lambda: ASGIMiddleware(plain_asgi, SETTINGS),
            "starlette": starlette_app,
            "fastapi": fastapi_app,
            "django-asgi": get_asgi_application,
        }[kind]()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            yield client
    else:
        wsgi: Any = {
            "wsgi": lambda: WSGIMiddleware(plain_wsgi, SETTINGS),
            "flask": lambda: flask_app().wsgi_app,
            "django-wsgi": get_wsgi_application,
        }[kind]()
        with httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url=base) as sync:
            yield sync


async def get(client: httpx.AsyncClient | httpx.Client, url: str) -> httpx.Response:
    if isinstance(client, httpx.AsyncClient):
        return await client.get(url)
    return client.get(url)


TEMPLATES = {
    "asgi": ("/items/{id}", ""),
    "wsgi": ("/items/{id}", ""),
    "starlette": ("/items/{id}", ""),
    "fastapi": ("/items/{id}", ""),
    "flask": ("/items/<int:id>", ""),
    "django-wsgi": ("/items/<int:id>/", "/"),
    "django-asgi": ("/items/<int:id>/", "/"),
}


@pytest.mark.parametrize("kind", list(TEMPLATES))
async def test_every_framework_serves_health_and_metrics(kind: str) -> None:
    """Liveness, readiness (running the check), the report and the exposition answer; the
    app's requests are counted under the framework's template, the operational ones not."""
    template, slash = TEMPLATES[kind]
    checked.clear()
    async with client_for(kind) as client:
        for n in (1, 1, 2):
            assert (await get(client, f"/items/{n}{slash}")).status_code == 200
        live = await get(client, "/health/live")
        ready = await get(client, "/health/ready")
        report = await get(client, "/health")
        await get(client, "/metrics")
        exposition = await get(client, "/metrics")
    assert (live.status_code, live.json()) == (200, {"status": "pass"})
    assert (ready.status_code, ready.json()) == (200, {"status": "pass"})
    assert ready.headers["content-type"] == "application/health+json"
    assert report.json()["checks"]["database"][0]["status"] == "pass"
    assert checked == ["database"]  # cached for the report
    assert exposition.headers["content-type"].startswith("text/plain")
    assert "x-request-id" in exposition.headers
    found = samples(exposition.text)
    assert count(found, "GET", template, "200") == 3
    total = sum(v for (name, _), v in found.items() if name.endswith("duration_seconds_count"))
    assert total == 3


async def test_fastapi_included_routers_are_labelled_by_their_template() -> None:
    """Routes of an included router count under their full template, not ``(unmatched)``."""
    async with client_for("fastapi") as client:
        await get(client, "/api/items/7")
        await get(client, "/nowhere")
        found = samples((await get(client, "/metrics")).text)
    assert count(found, "GET", "/api/items/{id}", "200") == 1
    assert count(found, "GET", "(unmatched)", "404") == 1


def test_django_unrouted_requests_are_unmatched() -> None:
    """A Django 404 (no URL pattern) counts as ``(unmatched)``."""
    client = httpx.Client(
        transport=httpx.WSGITransport(app=get_wsgi_application()), base_url="http://testserver"
    )
    with client:
        client.get("/nowhere")
        found = samples(client.get("/metrics").text)
    assert count(found, "GET", "(unmatched)", "404") == 1
