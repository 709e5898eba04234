"""``fallback_on: ["rejected", "error"]``: a route's fallback also answers the handler's own 5xx
failures (graceful degradation), under ASGI and WSGI; the failure is still logged and counted."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
from starlette.exceptions import HTTPException

from seawall.asgi.middleware import ASGIMiddleware
from seawall.config.settings import Settings, SettingsError
from seawall.guard import FallbackRequest
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, breaker_for
from seawall.wsgi.middleware import WSGIMiddleware

heard: list[FallbackRequest] = []


def degraded(request: FallbackRequest) -> dict[str, Any]:
    heard.append(request)
    return {"items": [], "degraded": request.reason}


async def adegraded(request: FallbackRequest) -> dict[str, Any]:
    return degraded(request)


FALLBACK = f"{__name__}.degraded"


def route(fallback_on: list[str] | None, fallback: str = FALLBACK) -> dict[str, Any]:
    policy: dict[str, Any] = {"fallback": fallback, "breaker": {"minimum_calls": 100}}
    if fallback_on is not None:
        policy["fallback_on"] = fallback_on
    return {"routes": {"GET /items": policy}}


ERRORS: dict[str, Callable[[], BaseException]] = {
    "unmapped": lambda: RuntimeError("db down"),
    "connection": lambda: ConnectionError("upstream"),
    "timeout_error": lambda: TimeoutError("upstream slow"),
    "http_503": lambda: HTTPException(503),
    "http_500": lambda: HTTPException(500),
}


def asgi_app(make: Callable[[], BaseException]) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise make()

    return app


def wsgi_app(make: Callable[[], BaseException]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise make()

    return app


async def asgi_get(settings: dict[str, Any], make: Callable[[], BaseException]) -> httpx.Response:
    app = ASGIMiddleware(asgi_app(make), pipeline=Pipeline(settings))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/items")


def wsgi_get(pipeline: Pipeline, make: Callable[[], BaseException]) -> httpx.Response:
    app = WSGIMiddleware(wsgi_app(make), pipeline=pipeline)
    transport = httpx.WSGITransport(app=app, raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        return client.get("/items")


@pytest.mark.parametrize("name", sorted(ERRORS))
async def test_asgi_fallback_answers_handler_5xx_failures(name: str, logs: CapturedLogs) -> None:
    """ASGI: a 5xx failure gets the fallback's answer, marked ``Seawall-Fallback: error``."""
    response = await asgi_get(route(["rejected", "error"]), ERRORS[name])
    assert response.status_code == 200
    assert response.json() == {"items": [], "degraded": "error"}
    assert response.headers["seawall-fallback"] == "error"
    assert response.headers["x-request-id"]
    assert len(logs.named("request_failed")) == 1  # the failure is still logged, once


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_wsgi_fallback_answers_handler_5xx_failures(name: str, logs: CapturedLogs) -> None:
    """WSGI: the same, and the failure still counts for the breaker."""
    pipeline = Pipeline(route(["rejected", "error"]))
    response = wsgi_get(pipeline, ERRORS[name])
    assert response.status_code == 200
    assert response.headers["seawall-fallback"] == "error"
    assert len(logs.named("request_failed")) == 1
    assert breaker_for(pipeline, "GET", "/items").snapshot().failures == 1


async def test_the_fallback_is_told_the_reason_and_route(logs: CapturedLogs) -> None:
    """The FallbackRequest says ``error``, the route key and the correlation id."""
    heard.clear()
    response = await asgi_get(route(["error"]), ERRORS["unmapped"])
    [request] = heard
    assert (request.reason, request.route, request.path) == ("error", "GET /items", "/items")
    assert request.correlation_id == response.headers["x-request-id"]


async def test_a_coroutine_fallback_answers_under_asgi(logs: CapturedLogs) -> None:
    """An async fallback is awaited."""
    response = await asgi_get(route(["error"], f"{__name__}.adegraded"), ERRORS["unmapped"])
    assert response.json()["degraded"] == "error"


@pytest.mark.parametrize("fallback_on", [None, ["rejected"]])
async def test_by_default_failures_keep_their_problem(
    fallback_on: list[str] | None, logs: CapturedLogs
) -> None:
    """Without ``error`` in fallback_on, the handler's failure is its problem, as before."""
    response = await asgi_get(route(fallback_on), ERRORS["unmapped"])
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("status", [400, 404, 409, 422, 429])
async def test_client_errors_keep_their_problem(status: int, logs: CapturedLogs) -> None:
    """Only 5xx failures degrade: a 4xx is the client's to see."""
    response = await asgi_get(route(["error"]), lambda: HTTPException(status))
    assert response.status_code == status


async def test_error_only_leaves_rejections_to_the_problem(logs: CapturedLogs) -> None:
    """``fallback_on: ["error"]``: an open breaker answers its 503 problem, not the fallback."""
    pipeline = Pipeline(route(["error"]))
    breaker_for(pipeline, "GET", "/items").force_open()
    app = ASGIMiddleware(asgi_app(ERRORS["unmapped"]), pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/items")
    assert response.status_code == 503
    assert response.json()["reason"] == "circuit_open"
    wsgi = wsgi_get(pipeline, ERRORS["unmapped"])
    assert wsgi.status_code == 503


def test_rejected_and_error_together_answer_both(logs: CapturedLogs) -> None:
    """Both reasons: an open breaker's refusal and a failure both get the fallback."""
    pipeline = Pipeline(route(["rejected", "error"]))
    assert wsgi_get(pipeline, ERRORS["unmapped"]).headers["seawall-fallback"] == "error"
    breaker_for(pipeline, "GET", "/items").force_open()
    assert wsgi_get(pipeline, ERRORS["unmapped"]).headers["seawall-fallback"] == "circuit_open"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"fallback_on": ["error"]}, "no fallback"),
        ({"fallback": FALLBACK, "fallback_on": []}, "at least one"),
        ({"fallback": FALLBACK, "fallback_on": ["errors"]}, "not one of"),
        ({"fallback": FALLBACK, "fallback_on": "error"}, "expected a list"),
        ({"fallback": FALLBACK, "fallback_on": [5]}, "not one of"),
    ],
)
def test_fallback_on_is_validated(policy: dict[str, Any], message: str) -> None:
    """Unknown values, an empty list, a string or no fallback are SettingsErrors naming it."""
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping({"routes": {"GET /items": policy}})
    assert info.value.path == 'routes."GET /items".fallback_on'
    assert message in str(info.value)


def test_routes_inherit_fallback_on_from_the_defaults() -> None:
    """Set once in ``defaults``, it applies to routes with a fallback."""
    settings = Settings.from_mapping(
        {"defaults": {"fallback_on": ["error"]}, "routes": {"GET /items": {"fallback": FALLBACK}}}
    )
    assert dict(settings.routes)["GET /items"].fallback_on == frozenset({"error"})
