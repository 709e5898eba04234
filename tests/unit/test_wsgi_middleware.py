"""The plain WSGI middleware in production mode: ids, streaming, problems, policies."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

import seawall
from seawall.clock import FakeClock
from seawall.deadline import remaining
from seawall.server.headers import set_header_str
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, capture_logs
from seawall.wsgi.middleware import ResponseAborted, WSGIMiddleware
from tests.fake_secrets import GITHUB_TOKEN, PASSWORD
from tests.garbage import cyclic_garbage

log = logging.getLogger("app")
calls: dict[str, int] = {}
StartResponse = Callable[..., Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    calls[path] = calls.get(path, 0) + 1
    if path == "/hello":
        log.info("hello handled")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"correlation_id": seawall.get_correlation_id()}).encode()]
    if path == "/own-id":
        start_response(
            "200 OK", [("X-Request-ID", "app-set"), ("Access-Control-Expose-Headers", "X-Total")]
        )
        return [b"x"]
    if path == "/boom":
        raise RuntimeError(f"login failed password={PASSWORD} token {GITHUB_TOKEN}")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _stream()
    if path == "/broken-stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _broken_stream()
    if path == "/flaky":
        if environ.get("QUERY_STRING") == "fail=1":
            raise ConnectionError("upstream down")
        start_response("200 OK", [])
        return [b"ok"]
    if path == "/deadline":
        start_response("200 OK", [])
        return [f"{remaining():.3f}".encode()]
    if path == "/slow":
        time.sleep(float(environ.get("QUERY_STRING", "x=1").split("=")[1]))
        start_response("200 OK", [])
        return [b"late"]
    start_response("404 Not Found", [])
    return [b""]


def _stream() -> Iterator[bytes]:
    for index in range(3):
        log.info("chunk sent")
        yield f"{index} {seawall.get_correlation_id()}\n".encode()


def _broken_stream() -> Iterator[bytes]:
    yield b"first\n"
    raise RuntimeError(f"mid-stream {GITHUB_TOKEN}")


SETTINGS: dict[str, Any] = {
    "routes": {
        "GET /flaky": {"breaker": {"failure_rate": 0.5, "minimum_calls": 2, "open_for": 10}},
        "GET /deadline": {"timeout": 2.0},
        "GET /slow": {"timeout": 0.2, "timeout_mode": "thread", "max_concurrency": 4},
    }
}


def client(wsgi: Any) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=wsgi, raise_app_exceptions=False), base_url="http://test"
    )


def keeping_statuses(statuses: list[str]) -> Callable[..., Callable[[bytes], object]]:
    """A server's ``start_response`` that keeps each status; its ``write`` discards the data."""

    def start_response(
        status: str, headers: Any, exc_info: Any = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    return start_response


def test_id_on_header_body_and_stdlib_log(logs: CapturedLogs) -> None:
    """The id reaches the response header, the app and stdlib log records."""
    with client(WSGIMiddleware(app)) as c:
        response = c.get("/hello", headers={"X-Request-ID": "w-1"})
    assert response.headers["x-request-id"] == "w-1"
    assert response.json() == {"correlation_id": "w-1"}
    assert logs.named("hello handled")[0]["correlation_id"] == "w-1"


def test_comma_joined_id_is_replaced(logs: CapturedLogs) -> None:
    """WSGI servers join repeated headers with commas; that value is invalid."""
    with client(WSGIMiddleware(app)) as c:
        response = c.get("/hello", headers={"X-Request-ID": "a,b"})
    assert response.headers["x-request-id"] != "a,b"
    assert len(logs.named("correlation_id_invalid")) == 1


def test_app_set_header_is_replaced_once(logs: CapturedLogs) -> None:
    """Exactly one id header, and the expose list is merged."""
    with client(WSGIMiddleware(app)) as c:
        response = c.get("/own-id", headers={"X-Request-ID": "w-2"})
    assert response.headers.get_list("x-request-id") == ["w-2"]
    assert response.headers["access-control-expose-headers"] == "X-Total, X-Request-ID"


def test_streamed_body_keeps_the_id_while_it_streams(logs: CapturedLogs) -> None:
    """Log lines written while the body streams carry the id; once it is sent, the id is gone."""
    middleware = WSGIMiddleware(app)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/stream", "HTTP_X_REQUEST_ID": "s-1"}
    body = middleware(environ, keeping_statuses([]))
    iterator = iter(body)
    first = next(iterator)
    assert seawall.get_correlation_id() == "s-1"
    chunks = [first, *iterator]
    assert seawall.get_correlation_id() is None
    body.close()  # type: ignore[attr-defined]
    assert seawall.get_correlation_id() is None
    assert chunks == [b"0 s-1\n", b"1 s-1\n", b"2 s-1\n"]
    assert [e["correlation_id"] for e in logs.named("chunk sent")] == ["s-1"] * 3


def test_reused_thread_keeps_no_id(logs: CapturedLogs) -> None:
    """A worker thread that served a request (also a failing one) holds no id afterwards."""
    seen: list[str | None] = []
    with ThreadPoolExecutor(1) as pool, client(WSGIMiddleware(app)) as c:
        for path in ("/hello", "/boom", "/hello"):
            pool.submit(c.get, path).result()
            seen.append(pool.submit(seawall.get_correlation_id).result())
    assert seen == [None, None, None]


def test_500_problem_without_secrets(logs: CapturedLogs) -> None:
    """The failure is a problem+json 500 with the ids; body and log have no secret."""
    with client(WSGIMiddleware(app)) as c:
        response = c.get("/boom", headers={"X-Request-ID": "w-3"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["correlation_id"] == "w-3"
    events = logs.named("request_failed")
    assert len(events) == 1
    assert events[0]["error_id"] == response.json()["error_id"]
    for text in (response.text, logs.text):
        assert PASSWORD not in text
        assert GITHUB_TOKEN[4:20] not in text


def test_failure_mid_stream_aborts_with_sanitized_exception(logs: CapturedLogs) -> None:
    """After the first chunk, a failure is logged once and the server gets a bare abort."""
    middleware = WSGIMiddleware(app)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/broken-stream"}
    body = middleware(environ, keeping_statuses([]))
    iterator = iter(body)
    assert next(iterator) == b"first\n"
    with pytest.raises(ResponseAborted) as info:
        next(iterator)
    body.close()  # type: ignore[attr-defined]
    assert info.value.__cause__ is None
    assert info.value.__context__ is None  # nothing of the app's exception reaches the server
    assert GITHUB_TOKEN not in str(info.value)
    assert len(logs.named("response_aborted")) == 1
    assert seawall.get_correlation_id() is None


def test_concurrent_threads_never_mix_ids(logs: CapturedLogs) -> None:
    """300 requests from 16 threads: 0 mismatches between header, body and log line."""
    with client(WSGIMiddleware(app)) as c, ThreadPoolExecutor(16) as pool:
        responses = list(
            pool.map(lambda n: c.get("/hello", headers={"X-Request-ID": f"t-{n}"}), range(300))
        )
    mismatches = sum(
        r.headers["x-request-id"] != f"t-{n}" or r.json()["correlation_id"] != f"t-{n}"
        for n, r in enumerate(responses)
    )
    assert mismatches == 0
    assert sorted(e["correlation_id"] for e in logs.named("hello handled")) == sorted(
        f"t-{n}" for n in range(300)
    )


def test_open_breaker_rejects_without_calling_app(logs: CapturedLogs) -> None:
    """After failures the breaker rejects with 503 + Retry-After and the app is not called."""
    with client(WSGIMiddleware(app, settings=SETTINGS)) as c:
        for _ in range(2):
            c.get("/flaky", params={"fail": "1"})
        before = calls["/flaky"]
        response = c.get("/flaky")
    assert response.status_code == 503
    assert calls["/flaky"] == before
    assert int(response.headers["retry-after"]) >= 1


@contextmanager
def _tripped(clock: FakeClock) -> Iterator[httpx.Client]:
    """A client of an app whose ``/flaky`` breaker two failures have just opened, on ``clock``."""
    with client(WSGIMiddleware(app, pipeline=Pipeline(SETTINGS, clock=clock))) as c:
        for _ in range(2):
            c.get("/flaky", params={"fail": "1"})
        yield c


def test_breaker_closes_after_good_probe_on_fake_clock(logs: CapturedLogs) -> None:
    """With a fake clock, the half-open probe succeeds and the route serves again."""
    clock = FakeClock()
    with _tripped(clock) as c:
        assert c.get("/flaky").status_code == 503
        clock.advance(12)  # past open_for plus its 10% jitter
        assert c.get("/flaky").status_code == 200
        assert c.get("/flaky").status_code == 200


def test_deadline_is_visible_to_the_app(logs: CapturedLogs) -> None:
    """``seawall.deadline.remaining()`` tells the handler how long it has left."""
    with client(WSGIMiddleware(app, settings=SETTINGS)) as c:
        left = float(c.get("/deadline").text)
    assert 0 < left <= 2.0
    assert remaining() is None


def test_thread_mode_answers_504_at_the_deadline(logs: CapturedLogs) -> None:
    """In thread mode a slow handler is abandoned and the client gets 504 at the deadline."""
    with client(WSGIMiddleware(app, settings=SETTINGS)) as c:
        response = c.get("/slow", params={"s": "1"})
        fast = c.get("/slow", params={"s": "0"})
    assert response.status_code == 504
    assert response.json()["correlation_id"] == response.headers["x-request-id"]
    assert fast.status_code == 200


def test_full_bulkhead_answers_503(logs: CapturedLogs) -> None:
    """With its one slot taken, a route refuses the next request with 503 at once."""
    gate = threading.Event()
    entered = threading.Event()

    def held(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        entered.set()
        gate.wait(10)
        start_response("200 OK", [])
        return [b"done"]

    middleware = WSGIMiddleware(held, settings={"defaults": {"max_concurrency": 1}})
    with client(middleware) as c, ThreadPoolExecutor(1) as pool:
        first = pool.submit(c.get, "/x")
        assert entered.wait(10)
        refused = c.get("/x")
        gate.set()
        assert first.result().status_code == 200
    assert refused.status_code == 503
    assert "retry-after" in refused.headers


def test_finished_list_body_ends_the_request_at_once(logs: CapturedLogs) -> None:
    """A started response's list body goes out as is: id and route slot are free before it is sent."""
    middleware = WSGIMiddleware(app, settings={"routes": {"GET /hello": {"max_concurrency": 1}}})
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/hello", "HTTP_X_REQUEST_ID": "l-1"}
    first = middleware(dict(environ), keeping_statuses(statuses))
    assert type(first) is list
    assert seawall.get_correlation_id() is None
    middleware(dict(environ), keeping_statuses(statuses))
    assert statuses == ["200 OK", "200 OK"]


def test_breaker_opens_again_after_it_closed(logs: CapturedLogs) -> None:
    """Once good probes have closed it, the breaker counts new failures and opens again."""
    clock = FakeClock()
    with _tripped(clock) as c:
        clock.advance(12)  # past open_for plus its 10% jitter
        assert [c.get("/flaky").status_code for _ in range(3)] == [200] * 3  # the probes close it
        for _ in range(2):
            assert c.get("/flaky", params={"fail": "1"}).json().get("reason") is None
        assert c.get("/flaky").json()["reason"] == "circuit_open"


@pytest.mark.parametrize("policies", [True, False])
def test_requests_leave_no_reference_cycles_for_the_collector(policies: bool) -> None:
    """While a request runs, its call refers to its environ (handover mode) and to its failure,
    whose traceback refers back to it: ending the request must undo both, for list bodies,
    streamed bodies, problems and aborted streams alike."""
    middleware = WSGIMiddleware(app, settings=SETTINGS, policies=policies)
    paths = ["/hello", "/stream", "/deadline", "/flaky", "/nowhere", "/boom", "/broken-stream"]

    def drive(count: int) -> list[str]:
        statuses: list[str] = []
        for number in range(count):
            environ = {
                "REQUEST_METHOD": "GET", "PATH_INFO": paths[number % len(paths)],
                "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "test", "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            }  # fmt: skip

            def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                statuses.append(status)
                return None

            body = middleware(environ, start_response)
            with contextlib.suppress(ResponseAborted):
                for _ in body:
                    pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return statuses

    with capture_logs():
        drive(20)  # warm caches and lazily built state
        with cyclic_garbage() as garbage:
            statuses = drive(200)
    assert statuses.count("200 OK") >= 80  # /hello, /stream, /flaky, /broken-stream: every time
    assert garbage.count == 0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Content-Type", "a")], [("Content-Type", "a"), ("X-Request-ID", "n")]),
        ([("x-request-id", "old"), ("ETag", "1")], [("ETag", "1"), ("X-Request-ID", "n")]),
        (
            [("X-Request-IDs", "b"), ("X-Request-Ix", "c")],
            [("X-Request-IDs", "b"), ("X-Request-Ix", "c"), ("X-Request-ID", "n")],
        ),
        (
            [("access-control-expose-headers", "ETag")],
            [("access-control-expose-headers", "ETag, X-Request-ID"), ("X-Request-ID", "n")],
        ),
    ],
)
def test_set_header_str_replaces_any_spelling_and_merges_expose(
    headers: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    """The WSGI twin: one id header whatever the app's spelling, names that only look close
    are kept, and the app's list is left as it was."""
    original = list(headers)
    assert set_header_str(headers, "X-Request-ID", "n") == expected
    assert headers == original
