"""WSGI ``deadline`` mode: work that ends past its deadline is logged once and counted as slow."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from seawall import events
from seawall.clock import FakeClock
from seawall.integrations.flask import Seawall
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, breaker_for
from seawall.wsgi.middleware import WSGIMiddleware

ROUTE = {"timeout": 1, "breaker": {"consecutive_failures": 1, "minimum_calls": 100}}
SETTINGS: dict[str, Any] = {"routes": {"GET /slow/{n}": ROUTE, "GET /stream/{n}": ROUTE}}


def slow_app(clock: FakeClock) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that takes ``n`` seconds on the fake clock, answering 200 (or streaming)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kind, seconds = environ["PATH_INFO"].strip("/").split("/")
        start_response("200 OK", [("Content-Type", "text/plain")])
        if kind == "slow":
            clock.advance(float(seconds))
            return [b"late"]

        def chunks() -> Iterator[bytes]:
            yield b"first "
            clock.advance(float(seconds))
            yield b"last"

        return chunks()

    return app


def run(path: str, clock: FakeClock, pipeline: Pipeline) -> httpx.Response:
    app = WSGIMiddleware(slow_app(clock), pipeline=pipeline)
    transport = httpx.WSGITransport(app=app, raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        return client.get(path)


@pytest.mark.parametrize("path", ["/slow/5", "/stream/5"])
def test_a_late_answer_logs_one_deadline_exceeded_event(path: str, logs: CapturedLogs) -> None:
    """A 1 s route that answers after 5 s: 200 still, one event naming the route and 4 s over."""
    clock = FakeClock()
    pipeline = Pipeline(SETTINGS, clock=clock)
    response = run(path, clock, pipeline)
    assert response.status_code == 200
    [event] = logs.named("deadline_exceeded")
    assert event["route"] == f"GET /{path.split('/')[1]}/{{n}}"
    assert event["over"] == pytest.approx(4.0)
    assert event["timeout"] == 1
    assert event["correlation_id"] == response.headers["x-request-id"]
    assert event["level"] == "warning"


def test_a_late_answer_is_a_failure_for_the_breaker(logs: CapturedLogs) -> None:
    """The late 200 counts as a failure: a one-failure breaker opens and refuses the next call."""
    clock = FakeClock()
    pipeline = Pipeline(SETTINGS, clock=clock)
    run("/slow/5", clock, pipeline)
    assert str(breaker_for(pipeline, "GET", "/slow/1").state) == "open"
    assert run("/slow/0", clock, pipeline).status_code == 503


def test_a_late_answer_counts_as_a_slow_call() -> None:
    """With a slow-call rule the overrun also counts as slow (its duration is timeout + over)."""
    clock = FakeClock()
    breaker = {"slow_call_duration": 2, "slow_call_rate": 1.0, "minimum_calls": 1,
               "failure_rate": 1.0}  # fmt: skip
    pipeline = Pipeline(
        {"routes": {"GET /slow/{n}": {"timeout": 1, "breaker": breaker}}}, clock=clock
    )
    run("/slow/3", clock, pipeline)
    assert str(breaker_for(pipeline, "GET", "/slow/1").state) == "open"


def test_an_answer_in_time_logs_nothing_and_succeeds(logs: CapturedLogs) -> None:
    """The contrast: 0.5 s of a 1 s budget is no event and no failure."""
    clock = FakeClock()
    pipeline = Pipeline(SETTINGS, clock=clock)
    assert run("/slow/0.5", clock, pipeline).status_code == 200
    assert logs.named("deadline_exceeded") == []
    assert str(breaker_for(pipeline, "GET", "/slow/1").state) == "closed"


def test_the_event_is_on_the_bus() -> None:
    """Subscribers get a typed DeadlineExceeded with route, timeout and how far over."""
    heard: list[events.DeadlineExceeded] = []
    unsubscribe = events.subscribe(events.DeadlineExceeded, heard.append)
    try:
        clock = FakeClock()
        run("/slow/3", clock, Pipeline(SETTINGS, clock=clock))
    finally:
        unsubscribe()
    assert [(e.route, e.timeout, e.over) for e in heard] == [("GET /slow/{n}", 1.0, 2.0)]


def test_flask_picks_it_up(logs: CapturedLogs) -> None:
    """Flask's deadline mode reports the same event and opens the same breaker (real time:
    a 50 ms budget and a handler that works for 150 ms)."""
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {"routes": {"GET /slow": {**ROUTE, "timeout": 0.05}}}

    @app.get("/slow")
    def slow() -> str:
        time.sleep(0.15)  # the handler's own slow work, not a wait for seawall's state
        return "late"

    Seawall(app)
    pipeline = app.extensions["seawall"]
    client = app.test_client()
    assert client.get("/slow", buffered=True).status_code == 200
    [event] = logs.named("deadline_exceeded")
    assert event["route"] == "GET /slow"
    assert event["over"] >= 0.09
    assert str(breaker_for(pipeline, "GET", "/slow").state) == "open"
