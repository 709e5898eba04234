"""Headers a framework's HTTP error carries (``Allow``, ``WWW-Authenticate``, ``Retry-After``)
survive seawall's problem response, in every adapter.

This module is also the URLconf of its Django tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests import django_settings

django_settings.setup()

from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views import View  # noqa: E402
from django.views.decorators.http import require_GET  # noqa: E402
from fastapi import APIRouter, FastAPI  # noqa: E402
from fastapi import HTTPException as FastAPIHTTPException  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from flask import Flask, abort  # noqa: E402
from rest_framework.authentication import BasicAuthentication  # noqa: E402
from rest_framework.exceptions import NotAuthenticated, Throttled  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402
from starlette.requests import Request as StarletteRequest  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402
from werkzeug.datastructures import WWWAuthenticate  # noqa: E402
from werkzeug.exceptions import TooManyRequests, Unauthorized  # noqa: E402

from seawall.integrations import fastapi as seawall_fastapi  # noqa: E402
from seawall.integrations import starlette as seawall_starlette  # noqa: E402
from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.integrations.flask import Seawall  # noqa: E402


def is_problem(content_type: str | None) -> bool:
    return (content_type or "").startswith("application/problem+json")


def same(header: str, got: str | None, wanted: str) -> bool:
    """Header values equal; ``Allow`` lists in any order (frameworks build them from sets)."""
    if header == "Allow" and got is not None:
        return sorted(got.split(", ")) == sorted(wanted.split(", "))
    return got == wanted


# -- Flask ---------------------------------------------------------------------------------------


def flask_app() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)

    @app.get("/only-get")
    def only_get() -> str:
        return "ok"

    @app.get("/login")
    def login() -> str:
        raise Unauthorized(www_authenticate=WWWAuthenticate("basic", {"realm": "shop"}))

    @app.get("/busy")
    def busy() -> str:
        raise TooManyRequests(retry_after=9)

    @app.get("/maintenance")
    def maintenance() -> str:
        abort(503, retry_after=30)

    Seawall(app)
    return app


@pytest.mark.parametrize(
    ("method", "url", "status", "header", "value"),
    [
        ("DELETE", "/only-get", 405, "Allow", "GET, HEAD, OPTIONS"),
        ("GET", "/login", 401, "WWW-Authenticate", "Basic realm=shop"),
        ("GET", "/busy", 429, "Retry-After", "9"),
        ("GET", "/maintenance", 503, "Retry-After", "30"),
    ],
)
def test_flask_keeps_the_http_exceptions_headers(
    method: str, url: str, status: int, header: str, value: str
) -> None:
    """Werkzeug's ``get_headers()`` (405 ``Allow``, 401, 429, 503) reach the problem."""
    with flask_app().test_client() as client:
        response = client.open(url, method=method, buffered=True)
    assert response.status_code == status
    assert is_problem(response.content_type)
    assert same(header, response.headers[header], value)
    assert response.headers.getlist("Content-Type") == ["application/problem+json"]


# -- Starlette and FastAPI -----------------------------------------------------------------------


async def starlette_login(request: StarletteRequest) -> PlainTextResponse:
    raise HTTPException(401, headers={"WWW-Authenticate": 'Bearer realm="shop"'})


async def starlette_busy(request: StarletteRequest) -> PlainTextResponse:
    raise HTTPException(429, headers={"Retry-After": "9"})


async def starlette_range(request: StarletteRequest) -> PlainTextResponse:
    raise HTTPException(416, headers={"Content-Range": "bytes */100", "Content-Length": "3"})


async def starlette_proxy(request: StarletteRequest) -> PlainTextResponse:
    raise HTTPException(407, headers={"Proxy-Authenticate": 'Basic realm="proxy"'})


def starlette_app() -> Starlette:
    app = Starlette(
        routes=[
            Route("/only-get", lambda request: PlainTextResponse("ok"), methods=["GET"]),
            Route("/login", starlette_login),
            Route("/busy", starlette_busy),
            Route("/range", starlette_range),
            Route("/proxy", starlette_proxy),
        ]
    )
    seawall_starlette.install(app)
    return app


def fastapi_app() -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/inner")

    @app.get("/only-get")
    async def only_get() -> str:
        return "ok"

    @app.get("/login")
    async def login() -> str:
        raise FastAPIHTTPException(401, headers={"WWW-Authenticate": 'Bearer realm="shop"'})

    @app.get("/busy")
    async def busy() -> str:
        raise FastAPIHTTPException(429, headers={"Retry-After": "9"})

    @router.get("/only-get")
    async def inner_only_get() -> str:
        return "ok"

    app.include_router(router)
    seawall_fastapi.install(app)
    return app


ALLOW = {starlette_app: "GET, HEAD", fastapi_app: "GET"}  # as each framework's own 405 says


@pytest.mark.parametrize("make", [starlette_app, fastapi_app])
@pytest.mark.parametrize(
    ("method", "url", "status", "header", "value"),
    [
        ("DELETE", "/only-get", 405, "Allow", None),
        ("GET", "/login", 401, "WWW-Authenticate", 'Bearer realm="shop"'),
        ("GET", "/busy", 429, "Retry-After", "9"),
    ],
)
def test_starlette_and_fastapi_keep_the_http_exceptions_headers(
    make: Any, method: str, url: str, status: int, header: str, value: str | None
) -> None:
    """``HTTPException.headers`` (the router's 405 ``Allow`` included) reach the problem."""
    value = value or ALLOW[make]
    with TestClient(make(), raise_server_exceptions=False) as client:
        response = client.request(method, url)
    assert response.status_code == status
    assert is_problem(response.headers["content-type"])
    assert same(header, response.headers[header], value)


@pytest.mark.parametrize(
    ("url", "status", "header", "value"),
    [
        ("/range", 416, "Content-Range", "bytes */100"),
        ("/proxy", 407, "Proxy-Authenticate", 'Basic realm="proxy"'),
    ],
)
def test_headers_an_error_status_calls_for_are_kept(
    url: str, status: int, header: str, value: str
) -> None:
    """A 416's ``Content-Range`` and a 407's ``Proxy-Authenticate`` stay; a ``Content-Length``
    the exception asks for does not replace the problem body's own."""
    with TestClient(starlette_app(), raise_server_exceptions=False) as client:
        response = client.get(url)
    assert response.status_code == status
    assert is_problem(response.headers["content-type"])
    assert response.headers[header] == value
    assert int(response.headers["content-length"]) == len(response.content)


def test_fastapi_included_router_405_keeps_allow() -> None:
    """A 405 on a route of an included router carries ``Allow`` too."""
    with TestClient(fastapi_app(), raise_server_exceptions=False) as client:
        response = client.delete("/inner/only-get")
    assert response.status_code == 405
    assert same("Allow", response.headers["allow"], "GET")


# -- Django and DRF ------------------------------------------------------------------------------


@require_GET  # type: ignore[untyped-decorator]  # Django ships no types
def django_only_get(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


class DjangoClassView(View):  # type: ignore[misc]  # Django ships no types
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")


class DrfOnlyGet(APIView):  # type: ignore[misc]  # Django ships no types
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class DrfLogin(APIView):  # type: ignore[misc]  # Django ships no types
    authentication_classes = [BasicAuthentication]

    def get(self, request: Request) -> Response:
        raise NotAuthenticated()


class DrfBusy(APIView):  # type: ignore[misc]  # Django ships no types
    def get(self, request: Request) -> Response:
        raise Throttled(wait=2.5)


urlpatterns = [
    path("only-get", django_only_get),
    path("class-view", DjangoClassView.as_view()),
    path("api/only-get", DrfOnlyGet.as_view()),
    path("api/login", DrfLogin.as_view()),
    path("api/busy", DrfBusy.as_view()),
]


@pytest.fixture
def django_client() -> Iterator[Client]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__):
        yield Client(raise_request_exception=False)
    install_pipeline(None)


@pytest.mark.parametrize(
    ("method", "url", "status", "header", "value"),
    [
        ("delete", "/only-get", 405, "Allow", "GET"),
        ("delete", "/class-view", 405, "Allow", "GET, HEAD, OPTIONS"),
        ("delete", "/api/only-get", 405, "Allow", "GET, HEAD, OPTIONS"),
        ("get", "/api/login", 401, "WWW-Authenticate", 'Basic realm="api"'),
        ("get", "/api/busy", 429, "Retry-After", "3"),
    ],
)
def test_django_and_drf_keep_the_error_responses_headers(
    django_client: Client, method: str, url: str, status: int, header: str, value: str
) -> None:
    """``HttpResponseNotAllowed``'s ``Allow`` (decorator and class view), DRF's ``Allow``,
    ``WWW-Authenticate`` and ``Retry-After`` reach the problem that replaces Django's page."""
    response = getattr(django_client, method)(url)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["status"] == status
    assert same(header, response[header], value)
