"""The pipeline and its event bus: what seawall decides reaches every subscriber, logging included."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from seawall import events
from seawall.asgi.middleware import ASGIMiddleware
from seawall.clock import FakeClock
from seawall.errors.exceptions import CircuitOpenError
from seawall.guard import FallbackRequest
from seawall.observability.events import EventBus
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs

BREAKER = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}


@pytest.fixture
def seen() -> Iterator[list[events.Event]]:
    """Every event of every kind, from the process-wide bus, while the test runs."""
    got: list[events.Event] = []
    kinds = [
        getattr(events, name)
        for name in events.__all__
        if name not in ("BUS", "Event", "EventBus", "subscribe")
    ]
    stops = [events.subscribe(kind, got.append) for kind in kinds]
    yield got
    for stop in stops:
        stop()


def fallback(request: FallbackRequest) -> str:
    return f"later ({request.reason})"


async def flaky(request: Request) -> PlainTextResponse:
    if request.query_params.get("fail"):
        raise ValueError("password=hunter2 upstream down")
    return PlainTextResponse("ok")


def client(settings: dict[str, Any], clock: FakeClock | None = None) -> httpx.AsyncClient:
    pipeline = Pipeline(settings, clock=clock or FakeClock())
    app = ASGIMiddleware(Router(routes=[Route("/items/{id}", flaky)]), pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


# -- the bus --------------------------------------------------------------------------------


def test_subscribe_publish_and_unsubscribe() -> None:
    """A listener gets the events of its class only, until it unsubscribes."""
    bus = EventBus()
    got: list[events.Event] = []
    stop = bus.subscribe(events.FallbackServed, got.append)
    assert bus.wants(events.FallbackServed)
    assert not bus.wants(events.StaleServed)
    bus.publish(events.FallbackServed("GET /x", "circuit_open"))
    bus.publish(events.StaleServed("GET /x", "circuit_open", 3))
    stop()
    bus.publish(events.FallbackServed("GET /x", "timeout"))
    assert got == [events.FallbackServed("GET /x", "circuit_open")]
    assert not bus.wants(events.FallbackServed)


def test_a_bus_forwards_to_its_parent() -> None:
    """A pipeline's bus hands every event on to the process-wide one."""
    parent = EventBus()
    child = EventBus(parent=parent)
    got: list[events.Event] = []
    parent.subscribe(events.StaleServed, got.append)
    assert child.wants(events.StaleServed)
    child.publish(events.StaleServed(None, "timeout", 1))
    assert got == [events.StaleServed(None, "timeout", 1)]


def test_a_failing_listener_is_reported_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An observer's bug never reaches the publisher; it is logged without the event's data."""
    bus = EventBus()
    got: list[events.Event] = []

    def broken(event: events.Event) -> None:
        raise RuntimeError("secret=abc")

    bus.subscribe(events.FallbackFailed, broken)
    bus.subscribe(events.FallbackFailed, got.append)
    with caplog.at_level(logging.ERROR, logger="seawall.events"):
        bus.publish(events.FallbackFailed("GET /x", "TypeError"))
    assert len(got) == 1
    assert "RuntimeError" in caplog.text
    assert "secret=abc" not in caplog.text


def test_only_event_classes_can_be_subscribed() -> None:
    """A typo'd kind is an error at once, not a listener that never hears anything."""
    with pytest.raises(TypeError, match="seawall event class"):
        EventBus().subscribe(str, print)  # type: ignore[type-var]


# -- what the pipeline publishes ------------------------------------------------------------


async def test_a_failure_is_published_and_logged_once(
    logs: CapturedLogs, seen: list[events.Event]
) -> None:
    """A handler's exception becomes one RequestFailed with its problem and route, and the log
    subscriber writes its one redacted line."""
    async with client({"routes": {"GET /items/{id}": {"timeout": 5}}}) as c:
        response = await c.get("/items/1", params={"fail": 1}, headers={"X-Request-ID": "p-1"})
    assert response.status_code == 500
    failed = [e for e in seen if isinstance(e, events.RequestFailed)]
    assert len(failed) == 1
    assert (failed[0].route, failed[0].method, failed[0].problem.status) == (
        "GET /items/{id}",
        "GET",
        500,
    )
    assert isinstance(failed[0].exception, ValueError)
    lines = [e for e in logs.events if e["event"] == "request_failed"]
    assert len(lines) == 1
    assert "hunter2" not in str(lines[0])
    assert lines[0]["correlation_id"] == "p-1"


async def test_breaker_rejection_and_fallback_are_published(
    logs: CapturedLogs, seen: list[events.Event]
) -> None:
    """Two failures open the breaker (one transition), the next request is served by the
    fallback; without a fallback it would be a RequestRejected."""
    settings = {
        "routes": {"GET /items/{id}": {"breaker": BREAKER, "fallback": f"{__name__}.fallback"}}
    }
    async with client(settings) as c:
        for _ in range(2):
            await c.get("/items/1", params={"fail": 1})
        served = await c.get("/items/1")
    assert served.text == "later (circuit_open)"
    moves = [e for e in seen if isinstance(e, events.BreakerStateChanged)]
    assert [(m.route, m.old_state, m.new_state) for m in moves] == [
        ("GET /items/{id}", "closed", "open")
    ]
    assert events.FallbackServed("GET /items/{id}", "circuit_open") in seen
    assert [e["event"] for e in logs.events if e["event"] == "breaker_state_changed"] == [
        "breaker_state_changed"
    ]


async def test_a_rejection_is_published_with_its_reason(seen: list[events.Event]) -> None:
    """A refused request without a fallback is one RequestRejected, with status and ids."""
    async with client({"routes": {"GET /items/{id}": {"breaker": BREAKER}}}) as c:
        for _ in range(2):
            await c.get("/items/1", params={"fail": 1})
        refused = await c.get("/items/1", headers={"X-Request-ID": "p-2"})
    assert refused.status_code == 503
    rejected = [e for e in seen if isinstance(e, events.RequestRejected)]
    assert len(rejected) == 1
    assert (rejected[0].reason, rejected[0].status, rejected[0].correlation_id) == (
        "circuit_open",
        503,
        "p-2",
    )
    assert rejected[0].error_id == refused.json()["error_id"]


async def test_stale_answers_and_full_bulkheads_are_published(seen: list[events.Event]) -> None:
    """Serving a stale answer and finding the bulkhead full each publish their event."""
    settings = {"routes": {"GET /items/{id}": {"breaker": BREAKER, "stale_if_error": 60}}}
    async with client(settings) as c:
        await c.get("/items/1")
        for _ in range(2):
            await c.get("/items/2", params={"fail": 1})
        assert (await c.get("/items/1")).headers["seawall-stale"] == "circuit_open"
    assert events.StaleServed("GET /items/{id}", "circuit_open", 0) in seen
    pipeline = Pipeline({"routes": {"GET /items/{id}": {"max_concurrency": 1, "max_queue": 0}}})
    guard = pipeline.guards.for_path("GET", "/items/1")[1]
    assert guard is not None
    held = guard.engine.enter()
    with pytest.raises(Exception, match="bulkhead"):
        guard.engine.enter()
    held.finish(200, None)
    assert events.BulkheadSaturated("GET /items/{id}", 1) in seen


async def test_an_invalid_correlation_id_is_published(
    logs: CapturedLogs, seen: list[events.Event]
) -> None:
    """The escaped hint and what was done with the id, never the raw value."""
    async with client({}) as c:
        await c.get("/items/1", headers={"X-Request-ID": "x" * 300})
    invalid = [e for e in seen if isinstance(e, events.CorrelationIdInvalid)]
    assert len(invalid) == 1
    assert invalid[0].action == "replaced"
    assert "x" * 300 not in invalid[0].hint
    assert [e["event"] for e in logs.events].count("correlation_id_invalid") == 1


def test_a_kind_is_wanted_only_while_someone_listens() -> None:
    """``wants`` is what publishers ask before building an event: false for a kind nobody
    hears, true for the failures the log subscriber writes."""
    pipeline = Pipeline({})
    assert not pipeline.events.wants(events.StaleServed)
    assert pipeline.events.wants(events.RequestFailed)  # the log subscriber


def test_render_builds_one_response_with_a_bytes_view() -> None:
    """A problem is rendered once: text headers with the body's length, and the same as bytes."""
    pipeline = Pipeline({})
    answer = pipeline.render(
        pipeline.problem(
            CircuitOpenError("GET /x", retry_after=7), method="GET", path="/x", route="GET /x"
        ),
        None,
    )
    headers = dict(answer.headers)
    assert answer.status == 503
    assert headers["content-type"] == "application/problem+json"
    assert headers["content-length"] == str(len(answer.body))
    assert headers["retry-after"] == "7"
    assert answer.raw_headers() == [(n.encode(), v.encode()) for n, v in answer.headers]
    assert answer.status_line == "503 Service Unavailable"


async def broken_fallback(request: FallbackRequest) -> str:
    raise RuntimeError("fallback down")


async def test_an_async_fallback_that_raises_falls_back_to_the_problem(
    logs: CapturedLogs, seen: list[events.Event]
) -> None:
    """As with a plain function: the refusal's 503 problem, and one FallbackFailed naming the class."""
    settings = {
        "routes": {
            "GET /items/{id}": {"breaker": BREAKER, "fallback": f"{__name__}.broken_fallback"}
        }
    }
    async with client(settings) as c:
        for _ in range(2):
            await c.get("/items/1", params={"fail": 1})
        refused = await c.get("/items/1")
    assert refused.status_code == 503
    assert refused.json()["reason"] == "circuit_open"
    assert events.FallbackFailed("GET /items/{id}", "RuntimeError", "circuit_open") in seen
    failures = [e for e in logs.events if e["event"] == "fallback_failed"]
    assert [e["exception"] for e in failures] == ["RuntimeError"]
