"""Error analytics: failures grouped by fingerprint, bounded, with a rolling rate and baseline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from seawall import analytics, problem
from seawall.clock import FakeClock
from seawall.observability.analytics import ErrorAnalytics, ErrorRecorded
from seawall.server.pipeline import Pipeline
from seawall.wsgi.middleware import WSGIMiddleware


class Wall:
    """A wall clock the test sets."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def raised(fn: Callable[[], object]) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("did not raise")


def checkout() -> None:
    raise ValueError("card 4111 1111 1111 1111 declined")


def checkout_again() -> None:
    x = 1
    raise ValueError(f"card declined {x}")


def refund() -> None:
    raise ValueError("refund failed")


def fail(pipeline: Pipeline, exc: BaseException, route: str | None = "POST /checkout") -> None:
    pipeline.problem(exc, method="POST", path="/checkout", route=route)


def test_one_group_per_type_frame_and_route() -> None:
    """Same function (any line): one group; another function, type or route: another group."""
    pipeline = Pipeline()
    fail(pipeline, raised(checkout))
    fail(pipeline, raised(checkout))
    fail(pipeline, raised(refund))
    fail(pipeline, raised(checkout), route="POST /other")
    fail(pipeline, raised(lambda: dict[str, int]()["k"]))
    groups = pipeline.analytics.top(10)
    assert [g.count for g in groups] == [2, 1, 1, 1]
    assert groups[0].frame == "test_analytics.py:checkout"
    assert groups[0].exception == "builtins.ValueError"
    assert len({g.fingerprint for g in groups}) == 4


def test_a_group_keeps_what_the_issue_lists() -> None:
    """Count, first/last seen, routes, status, class, last ids, one redacted sample."""
    wall, clock = Wall(), FakeClock(100.0)
    pipeline = Pipeline(clock=clock)
    pipeline.analytics._wall = wall
    fail(pipeline, raised(checkout))
    wall.now += 5
    clock.advance(5)
    fail(pipeline, raised(checkout))
    wall.now += 60  # read a minute later: the times stay those of the failures
    clock.advance(60)
    group = pipeline.analytics.top(1)[0].as_dict()
    assert group["count"] == 2
    assert group["first_seen"] == 1_800_000_000.0
    assert group["last_seen"] == 1_800_000_005.0
    assert group["routes"] == ["POST /checkout"]
    assert group["status"] == 500
    assert group["classification"] == "unknown"
    assert group["last_error_id"]
    assert len(group["last_error_id"]) == 32
    assert "4111" not in group["sample_message"]
    assert "declined" in group["sample_message"]
    assert set(group) >= {"fingerprint", "rate", "baseline", "last_correlation_id", "frame"}


def test_least_recently_seen_group_goes_first_when_full() -> None:
    clock = FakeClock()
    stats = ErrorAnalytics(redact=str, max_fingerprints=2, clock=clock)
    pipeline = Pipeline()
    stats.attach(pipeline.events)
    first = raised(checkout)
    fail(pipeline, first)
    fail(pipeline, raised(refund))
    fail(pipeline, first)  # checkout is now the most recent
    fail(pipeline, raised(checkout_again))
    kept = {g.frame.split(":")[1] for g in stats.top(10)}
    assert kept == {"checkout", "checkout_again"}
    assert stats.dropped == 1
    assert len(stats) == 2


def test_rolling_rate_and_ewma_baseline_follow_the_clock() -> None:
    """30 failures in one bucket: rate 30/300 per second; the baseline rises once it closes."""
    clock = FakeClock()
    pipeline = Pipeline(clock=clock)
    exc = raised(checkout)
    for _ in range(30):
        fail(pipeline, exc)
    group = pipeline.analytics.top(1)[0]
    assert group.rate(clock()) == pytest.approx(30 / 300)
    assert group.baseline(clock()) == 0.0
    clock.advance(30)  # the bucket closes: baseline = 0.05 * 30 per bucket, times 10 buckets
    assert group.baseline(clock()) == pytest.approx(0.05 * 30 * 10)
    assert group.window_count(clock()) == 30
    clock.advance(300)  # the window has passed: the rate is back to zero, the baseline decays
    assert group.window_count(clock()) == 0
    assert 0 < group.baseline(clock()) < 0.05 * 30 * 10
    clock.advance(100_000)
    assert group.baseline(clock()) < 1e-6


@problem(404, "No such order")
class OrderMissing(Exception):
    pass


def missing() -> None:
    raise OrderMissing("order 7")


def test_client_errors_count_only_when_logged() -> None:
    quiet, loud = Pipeline(), Pipeline({"errors": {"log_client_errors": True}})
    for pipeline in (quiet, loud):
        fail(pipeline, raised(missing))
    assert len(quiet.analytics) == 0
    assert len(loud.analytics) == 1


def test_disabled_analytics_counts_nothing() -> None:
    pipeline = Pipeline({"analytics": {"enabled": False}})
    fail(pipeline, raised(checkout))
    assert len(pipeline.analytics) == 0


def test_it_publishes_error_recorded_new_once() -> None:
    """Every failure (no spike rule defers them), ``new`` on the first only."""
    pipeline = Pipeline({"alerts": {"rules": {"error_spike": False}}})
    seen: list[tuple[int, bool]] = []
    pipeline.events.subscribe(ErrorRecorded, lambda e: seen.append((e.group.count, e.new)))
    exc = raised(checkout)
    fail(pipeline, exc)
    fail(pipeline, exc)
    assert seen == [(1, True), (2, False)]


def test_counts_are_exact_under_many_threads() -> None:
    pipeline = Pipeline()
    exc = raised(checkout)
    start = threading.Barrier(16)

    def hammer() -> None:
        start.wait()
        for _ in range(250):
            fail(pipeline, exc)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pipeline.analytics.top(1)[0].count == 16 * 250


def test_get_finds_a_group_by_fingerprint() -> None:
    pipeline = Pipeline()
    fail(pipeline, raised(checkout))
    group = pipeline.analytics.top(1)[0]
    assert pipeline.analytics.get(group.fingerprint) is group
    assert pipeline.analytics.get("0" * 16) is None
    pipeline.analytics.clear()
    assert pipeline.analytics.top() == []


def test_for_app_finds_the_pipeline_of_each_kind_of_app() -> None:
    from flask import Flask
    from starlette.applications import Starlette

    from seawall.integrations import starlette as seawall_starlette
    from seawall.integrations.flask import Seawall

    pipeline = Pipeline()
    assert analytics.for_app(pipeline) is pipeline.analytics
    middleware = WSGIMiddleware(lambda environ, start: [], pipeline=pipeline)
    assert analytics.for_app(middleware) is pipeline.analytics
    flask_app = Flask(__name__)
    flask_pipeline = Seawall().init_app(flask_app)
    assert analytics.for_app(flask_app) is flask_pipeline.analytics
    star = Starlette()
    installed = seawall_starlette.install(star, None)
    assert analytics.for_app(star) is installed.analytics
    with pytest.raises(LookupError):
        analytics.for_app(object())


def test_a_request_that_succeeds_gives_analytics_no_work() -> None:
    """The happy path: no event analytics or the alert rules listen to is published."""
    from seawall.observability.events import RequestFailed, ResponseAborted

    pipeline = Pipeline()
    heard: list[object] = []
    for kind in (RequestFailed, ResponseAborted, ErrorRecorded):
        pipeline.events.subscribe(kind, heard.append)

    def ok(environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        start("200 OK", [])
        return [b"ok"]

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
        return lambda data: None

    app = WSGIMiddleware(ok, pipeline=pipeline)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/orders", "wsgi.url_scheme": "http"}
    for _ in range(50):
        assert b"".join(app(dict(environ), start_response)) == b"ok"
    assert heard == []
    assert len(pipeline.analytics) == 0
