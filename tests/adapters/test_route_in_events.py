"""Every event of a request names its route template: routes of included routers (at any
depth), of mounted routers and of mounted sub-applications, in FastAPI and Starlette."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Host, Mount, Route, Router
from starlette.testclient import TestClient

from seawall import events
from seawall.integrations import fastapi as seawall_fastapi
from seawall.integrations import starlette as seawall_starlette
from seawall.testing import CapturedLogs

BREAKER = {"breaker": {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 60, "jitter": 0}}


@pytest.fixture
def heard() -> Iterator[list[events.Event]]:
    """Every request, rejection and breaker event published while the test runs."""
    got: list[events.Event] = []
    kinds = (events.RequestFailed, events.RequestRejected, events.BreakerStateChanged)
    unsubscribe = [events.subscribe(kind, got.append) for kind in kinds]
    yield got
    for stop in unsubscribe:
        stop()


def routes_of(heard: list[events.Event]) -> dict[str, set[str | None]]:
    found: dict[str, set[str | None]] = {}
    for event in heard:
        found.setdefault(type(event).__name__, set()).add(getattr(event, "route", None))
    return found


def fastapi_app(template: str, policy: dict[str, Any] = BREAKER) -> FastAPI:
    """``GET /v1/shop/items/{item_id}`` through two levels of ``include_router``, and the same
    endpoint in a FastAPI sub-application mounted at ``/sub``."""
    inner = APIRouter(prefix="/items")

    @inner.get("/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        raise ConnectionError("upstream down")

    @inner.get("/sync/{item_id}")
    def sync_item(item_id: int) -> dict[str, int]:
        raise ConnectionError("upstream down")

    middle = APIRouter(prefix="/shop")
    middle.include_router(inner)
    app = FastAPI()
    app.include_router(middle, prefix="/v1")
    sub = FastAPI()
    sub.include_router(inner)
    app.mount("/sub", sub)
    seawall_fastapi.install(app, {"routes": {template: policy}})
    return app


@pytest.mark.parametrize(
    ("template", "url"),
    [
        ("GET /v1/shop/items/{item_id}", "/v1/shop/items/1"),
        ("GET /v1/shop/items/sync/{item_id}", "/v1/shop/items/sync/1"),
        ("GET /sub/items/{item_id}", "/sub/items/1"),
    ],
)
def test_fastapi_included_routes_name_their_template_in_every_event(
    heard: list[events.Event], logs: CapturedLogs, template: str, url: str
) -> None:
    """request_failed, breaker_state_changed and request_rejected all say the template."""
    with TestClient(fastapi_app(template), raise_server_exceptions=False) as client:
        statuses = [client.get(url).status_code for _ in range(3)]
    assert statuses == [503, 503, 503]
    assert routes_of(heard) == {
        "RequestFailed": {template},
        "BreakerStateChanged": {template},
        "RequestRejected": {template},
    }
    logged = {e["event"]: e["route"] for e in logs.events if "route" in e}
    assert logged == {
        "request_failed": template,
        "breaker_state_changed": template,
        "request_rejected": template,
    }


async def failing(request: Request) -> PlainTextResponse:
    raise ConnectionError("upstream down")


def starlette_app(template: str) -> Starlette:
    sub = Starlette(routes=[Route("/orders/{order_id}", failing)])
    app = Starlette(
        routes=[
            Mount("/api", routes=[Mount("/v2", app=Router([Route("/items/{id}", failing)]))]),
            Mount("/sub", app=sub),
        ]
    )
    seawall_starlette.install(app, {"routes": {template: BREAKER}})
    return app


@pytest.mark.parametrize(
    ("template", "url"),
    [
        ("GET /api/v2/items/{id}", "/api/v2/items/1"),
        ("GET /sub/orders/{order_id}", "/sub/orders/1"),
    ],
)
def test_starlette_mounted_routes_name_their_template_in_every_event(
    heard: list[events.Event], logs: CapturedLogs, template: str, url: str
) -> None:
    """Mounted routers and sub-applications: every event names the full template."""
    with TestClient(starlette_app(template), raise_server_exceptions=False) as client:
        statuses = [client.get(url).status_code for _ in range(3)]
    assert statuses == [503, 503, 503]
    assert routes_of(heard) == {
        "RequestFailed": {template},
        "BreakerStateChanged": {template},
        "RequestRejected": {template},
    }


def test_fastapi_validation_failure_on_included_route_names_the_template(
    heard: list[events.Event], logs: CapturedLogs
) -> None:
    """A 422 raised before the endpoint runs still names the included route's template."""
    app = fastapi_app("GET /v1/shop/items/{item_id}")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/shop/items/not-a-number")
    assert response.status_code == 422
    failed: list[Any] = [e for e in heard if isinstance(e, events.RequestFailed)]
    assert [e.route for e in failed] == ["GET /v1/shop/items/{item_id}"]


def serve_cached(request: Any) -> dict[str, str]:
    """The fallback of the test below."""
    return {"served": "fallback"}


def test_fastapi_included_route_fallback_names_the_template(logs: CapturedLogs) -> None:
    """An included route is guarded like any other: its open breaker serves the fallback,
    and the fallback's event names the template."""
    served: list[events.FallbackServed] = []
    stop = events.subscribe(events.FallbackServed, served.append)
    template = "GET /v1/shop/items/{item_id}"
    app = fastapi_app(template, {**BREAKER, "fallback": f"{__name__}.serve_cached"})
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            statuses = [client.get("/v1/shop/items/1").status_code for _ in range(2)]
            answer = client.get("/v1/shop/items/1")
    finally:
        stop()
    assert statuses == [503, 503]
    assert answer.status_code == 200
    assert answer.json() == {"served": "fallback"}
    assert answer.headers["seawall-fallback"] == "circuit_open"
    assert [(e.route, e.reason) for e in served] == [(template, "circuit_open")]


def test_starlette_host_routed_routes_name_their_template_and_are_guarded(
    heard: list[events.Event], logs: CapturedLogs
) -> None:
    """Routes behind ``Host`` routing (no path prefix of its own) are guarded by their
    template, and every event names it (the breaker opens: the policy applies)."""
    template = "GET /api/items/{id}"
    inner = Router([Mount("/api", routes=[Route("/items/{id}", failing)])])
    app = Starlette(routes=[Host("{tenant}.example.com", app=inner), Host("testserver", inner)])
    seawall_starlette.install(app, {"routes": {template: BREAKER}})
    with TestClient(app, raise_server_exceptions=False) as client:
        statuses = [client.get("/api/items/1").status_code for _ in range(3)]
    assert statuses == [503, 503, 503]
    assert routes_of(heard) == {
        "RequestFailed": {template},
        "BreakerStateChanged": {template},
        "RequestRejected": {template},
    }
    assert not [e for e in logs.events if e["event"] == "route_key_unmatched"]
