"""Async views under WSGI: a ``deadline``-mode timeout cannot cut them, so seawall says so at
start-up (Flask at the first request, Django when its WSGI handler is built); ``thread`` mode
does cut them.

This module is also the URLconf of its Django tests.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests import django_settings

django_settings.setup()

from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from flask import Flask  # noqa: E402
from flask.views import MethodView  # noqa: E402

import seawall  # noqa: E402
from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.integrations.flask import Seawall  # noqa: E402
from seawall.testing import CapturedLogs  # noqa: E402

released = threading.Event()
finished = threading.Event()


def warned(logs: CapturedLogs) -> dict[str, float]:
    return {e["route"]: e["timeout"] for e in logs.named("async_view_timeout_not_enforced")}


class AsyncItems(MethodView):
    async def get(self) -> str:
        return "items"


def flask_app() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {
        "routes": {
            "GET /async-slow": {"timeout": 0.5},
            "GET /sync-slow": {"timeout": 0.5},
            "GET /async-thread": {"timeout": 0.2, "timeout_mode": "thread"},
            "GET /async-items": {"timeout": 2},
        }
    }

    @app.get("/async-slow")
    async def async_slow() -> str:
        return "done"

    @app.get("/async-decorated")
    @seawall.policy(timeout=1.5)
    async def async_decorated() -> str:
        return "done"

    @app.get("/sync-slow")
    def sync_slow() -> str:
        return "done"

    @app.get("/async-thread")
    async def async_thread() -> str:
        while not released.is_set():  # abandoned at its timeout; ends when the test says so
            await asyncio.sleep(0.01)
        finished.set()
        return "late"

    @app.get("/async-free")
    async def async_free() -> str:
        return "no timeout"

    app.add_url_rule("/async-items", view_func=AsyncItems.as_view("items"))
    Seawall(app)
    return app


def test_flask_warns_once_for_async_views_with_a_deadline_timeout(logs: CapturedLogs) -> None:
    """Async views (functions, ``@seawall.policy``, class-based) with a ``deadline`` timeout are
    named once; sync views, thread mode and views without a timeout are not."""
    client = flask_app().test_client()
    for _ in range(2):
        assert client.get("/async-slow", buffered=True).status_code == 200
    assert warned(logs) == {
        "GET /async-slow": 0.5,
        "GET /async-decorated": 1.5,
        "GET /async-items": 2,
    }
    (event,) = [e for e in logs.named("async_view_timeout_not_enforced") if "slow" in e["route"]]
    assert event["level"] == "warning"
    assert "timeout_mode 'thread'" in event["message"]


def test_flask_thread_mode_cuts_an_async_view_at_its_timeout(logs: CapturedLogs) -> None:
    """``timeout_mode: "thread"`` runs the async view on the pool: a 504 at the deadline."""
    released.clear()
    finished.clear()
    client = flask_app().test_client()
    try:
        response = client.get("/async-thread", buffered=True)
    finally:
        released.set()
    assert response.status_code == 504
    assert response.get_json()["reason"] == "timeout"
    assert finished.wait(10)  # the abandoned view ran to its end, in this test


async def async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done")


def sync_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("done")


urlpatterns = [path("async/report", async_view), path("sync/report", sync_view)]
ROUTES = {"routes": {"GET async/report": {"timeout": 1}, "GET sync/report": {"timeout": 1}}}


@pytest.fixture
def django_routes() -> Iterator[None]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__, SEAWALL=ROUTES):
        yield
    install_pipeline(None)


def test_django_wsgi_handler_warns_for_async_views_with_a_timeout(
    django_routes: Any, logs: CapturedLogs
) -> None:
    """Building Django's WSGI handler names the async view's route; the sync one is not named."""
    WSGIHandler()
    assert warned(logs) == {"GET async/report": 1}


def test_django_asgi_handler_does_not_warn(django_routes: Any, logs: CapturedLogs) -> None:
    """Under ASGI the timeout cancels the async view: nothing to warn about."""
    ASGIHandler()
    assert warned(logs) == {}
