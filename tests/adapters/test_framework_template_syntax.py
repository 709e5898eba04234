"""Every URL pattern syntax a framework accepts works under seawall: Django ``re_path``
regexes (quantifiers in braces) and parameters inside a segment (``/files/<name>.txt``) are
answered by their views, Werkzeug converters with arguments match their keys.

This module is also the URLconf of its Django tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import django_settings

django_settings.setup()

from django.core.checks import run_checks  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import include, re_path  # noqa: E402
from flask import Flask  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from seawall.integrations import starlette as seawall_starlette  # noqa: E402
from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.integrations.flask import Seawall  # noqa: E402
from seawall.testing import CapturedLogs  # noqa: E402

BREAKER = {"breaker": {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 60, "jitter": 0}}


def year(request: HttpRequest, year: str) -> HttpResponse:
    return HttpResponse(f"year {year}")


def failing(request: HttpRequest, v: str, year: str) -> HttpResponse:
    raise ConnectionError("upstream down")


urlpatterns = [
    re_path(r"^articles/(?P<year>[0-9]{4})/$", year),
    re_path(r"^v(?P<v>[0-9]{1,2})/", include([re_path(r"^down/(?P<year>[0-9]{4})/$", failing)])),
]
SEAWALL = {"routes": {"GET elsewhere": {"timeout": 1}}}


@pytest.fixture
def django_urls() -> Iterator[None]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__, SEAWALL=SEAWALL):
        install_pipeline(None)
        yield
    install_pipeline(None)


def test_django_regex_patterns_are_answered_by_their_views(
    django_urls: None, logs: CapturedLogs
) -> None:
    """A ``re_path`` with ``{4}`` in it reaches its view under WSGI (it was a 500 from
    seawall's template parser for every request)."""
    response = Client(raise_request_exception=False).get("/articles/2024/")
    assert (response.status_code, response.content) == (200, b"year 2024")


async def test_django_regex_patterns_are_answered_under_asgi(
    django_urls: None, logs: CapturedLogs
) -> None:
    """The same under ASGI."""
    response = await AsyncClient(raise_request_exception=False).get("/articles/2024/")
    assert (response.status_code, response.content) == (200, b"year 2024")


def test_django_regex_pattern_failures_are_mapped_and_name_the_pattern(
    django_urls: None, logs: CapturedLogs
) -> None:
    """A mapped failure in an included regex pattern is the mapped 503, its event names the
    pattern as Django resolved it, and the start-up checks run."""
    response = Client(raise_request_exception=False).get("/v1/down/2024/")
    assert response.status_code == 503
    assert [e["route"] for e in logs.named("request_failed")] == [
        "GET ^v(?P<v>[0-9]{1,2})/down/(?P<year>[0-9]{4})/$"
    ]
    assert [m.id for m in run_checks() if m.id == "seawall.W004"] == ["seawall.W004"]


@pytest.mark.parametrize(
    "key", ["GET /codes/<string(length=2):code>", "GET /codes/{code}", "GET /codes/<code>"]
)
def test_werkzeug_converters_with_arguments_match_their_keys(key: str, logs: CapturedLogs) -> None:
    """``<string(length=2):code>`` is one parameter: its key's breaker opens on failures and
    no key is reported unmatched."""
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)

    @app.get("/codes/<string(length=2):code>")
    def code(code: str) -> str:
        raise ConnectionError("upstream down")

    Seawall(app, {"routes": {key: BREAKER}})
    client = app.test_client()
    statuses = [client.get("/codes/de", buffered=True).status_code for _ in range(3)]
    assert statuses == [503, 503, 503]
    assert [e["route"] for e in logs.named("request_rejected")] == [key]
    assert logs.named("route_key_unmatched") == []


def test_flask_rules_with_a_parameter_inside_a_segment_are_answered(logs: CapturedLogs) -> None:
    """``/files/<name>.txt`` and ``/v<int:n>/x`` (a parameter inside a segment) reach their
    views; they were a 500 from seawall's template parser whenever a route key was set."""
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)

    @app.get("/files/<name>.txt")
    def text_file(name: str) -> str:
        return name

    @app.get("/v<int:n>/x")
    def versioned(n: int) -> str:
        return str(n)

    Seawall(app, {"routes": {"GET /other": {"timeout": 1}}})
    client = app.test_client()
    assert client.get("/files/a.txt", buffered=True).data == b"a"
    assert client.get("/v2/x", buffered=True).data == b"2"


def test_starlette_routes_with_a_parameter_inside_a_segment_are_answered(
    logs: CapturedLogs,
) -> None:
    """The same for Starlette's ``/files/{name}.txt``."""
    app = Starlette(routes=[Route("/files/{name}.txt", lambda request: PlainTextResponse("a"))])
    seawall_starlette.install(app, {"routes": {"GET /other": {"timeout": 1}}})
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/files/a.txt")
    assert (response.status_code, response.text) == (200, "a")
