"""The admin API under every runner: the token, the breaker list and actions, the errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

import seawall
from seawall.asgi.middleware import ASGIMiddleware
from seawall.integrations.fastapi import install
from seawall.integrations.flask import Seawall
from seawall.resilience.breaker import State
from seawall.server.pipeline import Pipeline
from seawall.wsgi.middleware import WSGIMiddleware
from tests.services import redis_server

TOKEN = "s3cret-admin-token"
EMAIL = "jane.doe@example.com"
ROUTE = "GET /items/{id}"
RULES = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30, "jitter": 0.0}


def config(token: str | None = TOKEN) -> dict[str, Any]:
    return {"admin": {"token": token}, "routes": {ROUTE: {"breaker": RULES}}}


async def page(request: Request) -> PlainTextResponse:
    if request.url.path == "/boom":
        raise ValueError(f"card declined for {EMAIL}")
    return PlainTextResponse("app")


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/boom":
        raise ValueError(f"card declined for {EMAIL}")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def fastapi_app(settings: dict[str, Any]) -> tuple[FastAPI, Pipeline]:
    app = FastAPI()

    @app.get("/{p:path}")
    async def anything(p: str) -> PlainTextResponse:
        return PlainTextResponse("app")

    return app, install(app, settings)


def flask_app(settings: dict[str, Any]) -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["SEAWALL"] = settings

    @app.get("/", defaults={"p": ""})
    @app.get("/<path:p>")
    def anything(p: str) -> str:
        return "app"

    Seawall(app)
    return app


Client = httpx.Client | httpx.AsyncClient


def clients(settings: dict[str, Any]) -> dict[str, tuple[Client, Callable[[], Pipeline]]]:
    """A client per runner, each with a way to reach its pipeline."""
    asgi = ASGIMiddleware(Router([Route("/{p:path}", page)]), settings=settings)
    wsgi = WSGIMiddleware(wsgi_app, settings=settings)
    fast, fast_pipeline = fastapi_app(settings)
    flask = flask_app(settings)
    return {
        "asgi": (_async(asgi), lambda: asgi.pipeline),
        "wsgi": (_sync(wsgi), lambda: wsgi.pipeline),
        "fastapi": (_async(fast), lambda: fast_pipeline),
        "flask": (_sync(flask), lambda: flask_pipeline(flask)),
    }


def _async(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def _sync(app: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t")


def flask_pipeline(app: Flask) -> Pipeline:
    pipeline: Pipeline = app.extensions["seawall"]
    return pipeline


async def call(client: Client, method: str, url: str, **kw: Any) -> httpx.Response:
    if isinstance(client, httpx.AsyncClient):
        return await client.request(method, url, **kw)
    return client.request(method, url, **kw)


AUTH = {"Authorization": f"Bearer {TOKEN}"}
RUNNERS = ("asgi", "wsgi", "fastapi", "flask")


@pytest.mark.parametrize("runner", RUNNERS)
async def test_without_a_token_the_app_sees_the_admin_path(runner: str) -> None:
    """No admin.token: nothing is mounted, the request reaches the app."""
    client, _ = clients(config(None))[runner]
    answer = await call(client, "GET", "/_seawall/breakers", headers=AUTH)
    assert (answer.status_code, answer.text) == (200, "app")


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
async def test_a_missing_or_wrong_token_gets_a_401_problem(runner: str, auth: str | None) -> None:
    """Anything but the bearer token: 401 problem+json with WWW-Authenticate, no data."""
    client, _ = clients(config())[runner]
    headers = {} if auth is None else {"Authorization": auth}
    answer = await call(client, "GET", "/_seawall/breakers", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["status"] == 401
    assert "breakers" not in answer.json()


@pytest.mark.parametrize("runner", RUNNERS)
async def test_breakers_lists_state_counts_and_open_end(runner: str) -> None:
    """GET breakers: every breaker with its numbers; an open one says until when (UTC)."""
    client, pipeline = clients(config())[runner]
    answer = await call(client, "GET", "/_seawall/breakers", headers=AUTH)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    (view,) = answer.json()["breakers"]
    assert view["name"] == ROUTE
    assert (view["state"], view["calls"], view["open_until"]) == ("closed", 0, None)
    breaker = pipeline().breakers.named(ROUTE)[0].breaker
    for _ in range(2):
        permit = breaker.try_acquire()
        assert permit is not None
        permit.failure()
    (view,) = (await call(client, "GET", "/_seawall/breakers", headers=AUTH)).json()["breakers"]
    assert (view["state"], view["calls"], view["failures"], view["failure_rate"]) == (
        "open",
        2,
        2,
        1.0,
    )
    assert view["open_until"].endswith("Z")
    assert 0 < view["seconds_to_half_open"] <= 30
    assert answer.json()["backend"] == "memory"


@pytest.mark.parametrize("runner", RUNNERS)
async def test_actions_on_a_name_with_spaces_and_slashes(runner: str) -> None:
    """POST breakers/{percent-encoded name}/{action} applies it; each action in turn."""
    client, pipeline = clients(config())[runner]
    breaker = pipeline().breakers.named(ROUTE)[0].breaker
    url = f"/_seawall/breakers/{quote(ROUTE, safe='')}"
    for action, state in [
        ("force_open", State.FORCED_OPEN),
        ("disable", State.DISABLED),
        ("metrics_only", State.METRICS_ONLY),
        ("close", State.CLOSED),
        ("force_open", State.FORCED_OPEN),
        ("reset", State.CLOSED),
    ]:
        answer = await call(client, "POST", f"{url}/{action}", headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert answer.json()["breakers"][0]["state"] == state.value
        assert breaker.state is state


@pytest.mark.parametrize("runner", ["asgi", "wsgi"])
async def test_a_forced_breaker_rejects_the_route(runner: str) -> None:
    """After force_open through the API, the route answers 503 without calling the app."""
    client, _ = clients(config())[runner]
    url = f"/_seawall/breakers/{quote(ROUTE, safe='')}/force_open"
    assert (await call(client, "POST", url, headers=AUTH)).status_code == 200
    assert (await call(client, "GET", "/items/1")).status_code == 503


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", f"/_seawall/breakers/{quote(ROUTE, safe='')}/explode", 404),
        ("POST", "/_seawall/breakers/GET%20%2Fnowhere/force_open", 404),
        ("GET", f"/_seawall/breakers/{quote(ROUTE, safe='')}/force_open", 405),
        ("POST", "/_seawall/breakers", 405),
        ("GET", "/_seawall/other", 404),
        ("GET", "/_seawall/errors?limit=0", 400),
        ("GET", "/_seawall/errors?limit=many", 400),
    ],
)
@pytest.mark.parametrize("runner", ["asgi", "wsgi"])
async def test_bad_admin_requests_get_problems(
    runner: str, method: str, path: str, status: int
) -> None:
    """Unknown actions, names and paths, wrong methods, bad limits: a problem, nothing done."""
    client, pipeline = clients(config())[runner]
    answer = await call(client, method, path, headers=AUTH)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert pipeline().breakers.named(ROUTE)[0].breaker.state is State.CLOSED


@pytest.mark.parametrize("runner", ["asgi", "wsgi"])
async def test_errors_lists_the_top_fingerprints_redacted(runner: str) -> None:
    """Two failures of one kind: one group counted twice, its sample message redacted."""
    client, _ = clients(config())[runner]
    for _ in range(2):
        assert (await call(client, "GET", "/boom")).status_code == 500
    answer = await call(client, "GET", "/_seawall/errors?limit=5", headers=AUTH)
    assert answer.status_code == 200
    (group,) = answer.json()["errors"]
    assert (group["exception"], group["count"]) == ("builtins.ValueError", 2)
    assert EMAIL not in answer.text
    assert "declined" in group["sample_message"]


@pytest.mark.parametrize("runner", ["asgi", "wsgi"])
async def test_errors_with_analytics_off_is_a_404(runner: str) -> None:
    client, _ = clients({**config(), "analytics": {"enabled": False}})[runner]
    answer = await call(client, "GET", "/_seawall/errors", headers=AUTH)
    assert answer.status_code == 404
    assert "analytics.enabled" in answer.json()["detail"]


LATER = "GET /later"


def flask_with_a_lazy_breaker(settings: dict[str, Any]) -> Flask:
    """A Flask app whose ``/later`` view brings its own breaker (built on its first request)."""
    app = Flask(__name__)
    app.config["SEAWALL"] = settings

    @app.get("/later")
    @seawall.policy(breaker=RULES)
    def later() -> str:
        return "later"

    Seawall(app)
    return app


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_an_action_on_a_configured_key_applies_when_its_breaker_is_built(
    backend: str, tmp_path: Path
) -> None:
    """force_open on a configured route key whose breaker is not built yet: 200 with no
    breakers; the view's breaker, built on the first request, starts forced open."""
    settings: dict[str, Any] = {"admin": {"token": TOKEN}, "routes": {LATER: {"timeout": 5}}}
    with contextlib.ExitStack() as stack:
        if backend == "redis":
            redis = stack.enter_context(redis_server(tmp_path))
            url = f"redis://127.0.0.1:{redis.port}/0"
            settings["state"] = {"backend": "redis", "url": url, "timeout": 0.5}
        app = flask_with_a_lazy_breaker(settings)
        pipeline = flask_pipeline(app)
        stack.callback(pipeline.close)
        assert pipeline.breakers.named(LATER) == []
        lazily_forced(app)


def lazily_forced(app: Flask) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as client:
        url = f"/_seawall/breakers/{quote(LATER, safe='')}/force_open"
        answer = client.post(url, headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert answer.json()["breakers"] == []
        assert client.get("/later").status_code == 503
        listed = client.get("/_seawall/breakers", headers=AUTH).json()["breakers"]
        assert [(b["name"], b["state"]) for b in listed] == [(LATER, "forced_open")]
        reset = client.post(f"/_seawall/breakers/{quote(LATER, safe='')}/reset", headers=AUTH)
        assert reset.json()["breakers"][0]["state"] == "closed"
        assert client.get("/later").text == "later"
