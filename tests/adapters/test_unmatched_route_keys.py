"""A route key that matches no route is reported at start-up with the closest template:
FastAPI/Starlette when the app is built, Flask at the first request, Django as ``seawall.W004``.

This module is also the URLconf of its Django test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import django_settings

django_settings.setup()

from django.core.checks import run_checks  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from fastapi import APIRouter, FastAPI  # noqa: E402
from flask import Flask  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from seawall.integrations import fastapi as seawall_fastapi  # noqa: E402
from seawall.integrations import starlette as seawall_starlette  # noqa: E402
from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.integrations.flask import Seawall  # noqa: E402
from seawall.integrations.route_keys import UnmatchedKey, unmatched_keys  # noqa: E402
from seawall.testing import CapturedLogs  # noqa: E402

POLICY = {"timeout": 5}


def unmatched(logs: CapturedLogs) -> dict[str, str | None]:
    return {e["key"]: e["closest"] for e in logs.named("route_key_unmatched")}


@pytest.mark.parametrize(
    ("key", "closest"),
    [
        ("GET /tpyo", "GET /typo"),
        ("POST /items/{id}", "GET /items/{item_id}"),  # no POST route there
        ("GET /items/5", "GET /items/{item_id}"),  # literal keys never match a template
        ("/nothing/*", "GET /typo"),
    ],
)
def test_the_rule_names_unmatched_keys_and_the_closest_template(key: str, closest: str) -> None:
    """The pure rule: which keys match no template, and what is closest."""
    templates = [("/typo", {"GET", "HEAD"}), ("/items/{item_id}", {"GET"})]
    assert unmatched_keys([key], templates) == [UnmatchedKey(key, closest)]


@pytest.mark.parametrize(
    "key",
    ["GET /typo", "/typo", "GET /items/{id}", "GET /items/<int:id>", "/items/*", "HEAD /typo"],
)
def test_keys_that_match_are_not_reported(key: str) -> None:
    """Keys in any supported spelling, method-less and prefix keys match their templates."""
    templates = [("/typo", {"GET", "HEAD"}), ("/items/{item_id}", {"GET"})]
    assert unmatched_keys([key], templates) == []


def test_fastapi_install_warns_for_a_key_matching_no_route(logs: CapturedLogs) -> None:
    """``install(app, {"routes": {"GET /tpyo": ...}})``: one warning naming key and template;
    routes of included routers and routes added after install() count."""
    app = FastAPI()
    router = APIRouter(prefix="/api")

    @router.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, int]:
        return {"order_id": order_id}

    app.include_router(router)
    routes = {"GET /tpyo": POLICY, "GET /api/orders/{id}": POLICY, "GET /late": POLICY}
    seawall_fastapi.install(app, {"routes": routes})

    @app.get("/typo")
    async def typo() -> str:
        return "ok"

    @app.get("/late")
    async def late() -> str:
        return "ok"

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/typo").status_code == 200
    assert unmatched(logs) == {"GET /tpyo": "GET /typo"}
    (event,) = logs.named("route_key_unmatched")
    assert event["level"] == "warning"
    assert "'GET /tpyo'" in event["message"]
    assert "'GET /typo'" in event["message"]


def test_starlette_install_warns_with_mount_prefixes(logs: CapturedLogs) -> None:
    """Mounted routes count with their full template."""
    app = Starlette(
        routes=[Mount("/shop", routes=[Route("/items/{id}", lambda r: PlainTextResponse("x"))])]
    )
    seawall_starlette.install(
        app, {"routes": {"GET /shop/items/{id}": POLICY, "GET /shop/item/{id}": POLICY}}
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/shop/items/1")
    assert unmatched(logs) == {"GET /shop/item/{id}": "GET /shop/items/{id}"}


def test_flask_warns_at_the_first_request_for_rules_added_after_init_app(
    logs: CapturedLogs,
) -> None:
    """Flask rules may come after ``init_app`` (blueprints): the check runs once, at the first
    request, and names the closest rule."""
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {
        "routes": {"GET /reports/<int:id>": POLICY, "GET /report/<int:id>": POLICY}
    }
    Seawall(app)

    @app.get("/reports/<int:report_id>")
    def report(report_id: int) -> str:
        return "ok"

    assert logs.named("route_key_unmatched") == []
    client = app.test_client()
    for _ in range(3):
        assert client.get("/reports/1", buffered=True).status_code == 200
    assert unmatched(logs) == {"GET /report/<int:id>": "GET /reports/<int:report_id>"}


def flaky(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


shop_patterns = [path("items/<int:pk>/", flaky)]
urlpatterns = [path("flaky", flaky), path("shop/", include(shop_patterns))]


@pytest.fixture
def django_urls() -> Iterator[None]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__):
        yield
    install_pipeline(None)


def test_django_check_w004_names_key_and_closest_pattern(django_urls: Any) -> None:
    """``"GET flakey/"`` is ``seawall.W004`` naming the key and ``GET flaky``; included
    patterns count with their prefix."""
    routes = {"GET flakey/": POLICY, "GET flaky": POLICY, "GET shop/items/<int:pk>/": POLICY}
    with override_settings(SEAWALL={"routes": routes}):
        warnings = [m for m in run_checks() if m.id == "seawall.W004"]
    (warning,) = warnings
    assert "'GET flakey/'" in warning.msg
    assert "'GET flaky'" in warning.msg
