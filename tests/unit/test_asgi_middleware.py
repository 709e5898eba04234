"""The plain ASGI middleware in production mode: ids, problems, aborts, policies, fallbacks."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import pytest
import structlog
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, Router, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

import seawall
import seawall.deadline
from seawall.asgi.middleware import ASGIMiddleware
from seawall.clock import FakeClock
from seawall.guard import FallbackRequest, FallbackResponse
from seawall.server.headers import set_header_bytes
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, breaker_for
from tests.fake_secrets import API_KEY, DSN, EMAIL

log = structlog.get_logger("app")
calls: dict[str, int] = {}


async def hello(request: Request) -> JSONResponse:
    log.info("hello handled")
    return JSONResponse({"correlation_id": seawall.get_correlation_id()})


async def boom(request: Request) -> JSONResponse:
    calls["boom"] = calls.get("boom", 0) + 1
    error = RuntimeError(f"db {DSN} key {API_KEY}")
    error.add_note(f"user {EMAIL}")
    raise error from ValueError(f"cause {API_KEY}")


async def own_id(request: Request) -> PlainTextResponse:
    return PlainTextResponse(
        "x", headers={"X-Request-ID": "app-set", "Access-Control-Expose-Headers": "X-Total"}
    )


async def slow(request: Request) -> PlainTextResponse:
    await asyncio.sleep(5)
    return PlainTextResponse("late")


async def flaky(request: Request) -> PlainTextResponse:
    calls["flaky"] = calls.get("flaky", 0) + 1
    if request.query_params.get("fail"):
        raise ConnectionError("upstream down")
    return PlainTextResponse("ok")


async def broken_stream(request: Request) -> StreamingResponse:
    async def body() -> Any:
        yield b"first chunk\n"
        raise RuntimeError(f"mid-stream failure {API_KEY}")

    return StreamingResponse(body())


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(seawall.get_correlation_id() or "")
    await websocket.close()


def cached_reports(request: FallbackRequest) -> FallbackResponse:
    return FallbackResponse({"reports": [], "stale": True, "why": request.reason})


ROUTES = [
    Route("/hello", hello),
    Route("/boom", boom),
    Route("/own-id", own_id),
    Route("/slow", slow),
    Route("/flaky", flaky),
    Route("/reports", flaky),
    Route("/stream", broken_stream),
    WebSocketRoute("/ws", ws),
]

SETTINGS: dict[str, Any] = {
    "routes": {
        "GET /slow": {"timeout": 0.05},
        "GET /flaky": {"breaker": {"failure_rate": 0.5, "minimum_calls": 2, "open_for": 10, "half_open_calls": 1}},
        "GET /reports": {"breaker": {"failure_rate": 0.5, "minimum_calls": 2, "open_for": 10}, "fallback": f"{__name__}.cached_reports"},
    }
}  # fmt: skip


def make(settings: dict[str, Any] | None = None, inner: Any = None) -> ASGIMiddleware:
    """A plain ASGI app (a Starlette Router: no framework error layer) wrapped by seawall."""
    return ASGIMiddleware(inner or Router(routes=ROUTES), settings=settings or SETTINGS)


def client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def no_secret(text: str) -> None:
    for secret in (DSN, API_KEY, EMAIL, "Hunter2-pa55", API_KEY[12:18]):
        assert secret not in text


async def test_generated_id_is_on_header_body_and_log(logs: CapturedLogs) -> None:
    """Without an incoming id, one is generated and used everywhere."""
    async with client(make()) as c:
        response = await c.get("/hello")
    cid = response.headers["x-request-id"]
    assert re.fullmatch("[0-9a-f]{32}", cid)
    assert response.json() == {"correlation_id": cid}
    assert logs.named("hello handled")[0]["correlation_id"] == cid


async def test_valid_incoming_id_is_kept(logs: CapturedLogs) -> None:
    """A valid incoming id comes back unchanged."""
    async with client(make()) as c:
        response = await c.get("/hello", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize("hostile", ["a" * 300, "{abc}", "urn:uuid:1 2", "a,b", "x" * 129])
async def test_hostile_id_is_replaced_and_only_hinted(logs: CapturedLogs, hostile: str) -> None:
    """An invalid id is replaced; the one warning holds a short escaped hint, never the value."""
    async with client(make()) as c:
        response = await c.get("/hello", headers={"X-Request-ID": hostile})
    assert response.headers["x-request-id"] != hostile
    warnings = logs.named("correlation_id_invalid")
    assert len(warnings) == 1
    assert len(hostile) <= 16 or hostile[:17] not in logs.text  # at most 16 characters, escaped
    assert len(warnings[0]["hint"]) < 60


async def test_duplicate_id_headers_are_invalid(logs: CapturedLogs) -> None:
    """Two id headers make the id invalid (a client cannot pick one of them for us)."""
    async with client(make()) as c:
        response = await c.get("/hello", headers=[("X-Request-ID", "aaa"), ("X-Request-ID", "bbb")])
    assert response.headers["x-request-id"] not in ("aaa", "bbb")


async def test_reject_policy_answers_400_problem_with_fresh_id(logs: CapturedLogs) -> None:
    """``incoming: reject`` answers 400 problem+json that still carries a new id."""
    async with client(make({"correlation": {"incoming": "reject"}})) as c:
        response = await c.get("/hello", headers={"X-Request-ID": "bad id"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["correlation_id"] == response.headers["x-request-id"] != "bad id"


async def test_app_set_header_is_replaced_not_duplicated(logs: CapturedLogs) -> None:
    """The response has exactly one id header, and the expose list gets the name merged."""
    async with client(make()) as c:
        response = await c.get("/own-id", headers={"X-Request-ID": "mine"})
    assert response.headers.get_list("x-request-id") == ["mine"]
    assert response.headers["access-control-expose-headers"] == "X-Total, X-Request-ID"


async def test_cors_expose_header_is_merged(logs: CapturedLogs) -> None:
    """Starlette's CORS middleware expose list keeps its names and gains the id header."""
    app = make(
        inner=CORSMiddleware(Router(routes=ROUTES), allow_origins=["*"], expose_headers=["X-Total"])
    )
    async with client(app) as c:
        response = await c.get("/hello", headers={"Origin": "http://a.example"})
    assert response.headers["access-control-expose-headers"] == "X-Total, X-Request-ID"


async def test_500_problem_carries_ids_and_no_secret(logs: CapturedLogs) -> None:
    """A failure becomes problem+json with the ids; neither body nor log holds a secret."""
    async with client(make()) as c:
        response = await c.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 500
    assert body["correlation_id"] == "boom-1"
    failures = logs.named("request_failed")
    assert len(failures) == 1
    assert failures[0]["error_id"] == body["error_id"]
    assert failures[0]["correlation_id"] == "boom-1"
    no_secret(response.text)
    no_secret(logs.text)


async def test_browser_gets_html_problem(logs: CapturedLogs) -> None:
    """A browser asking for HTML gets a small HTML page with the same ids."""
    async with client(make()) as c:
        response = await c.get("/boom", headers={"Accept": "text/html", "X-Request-ID": "html-1"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "html-1" in response.text
    no_secret(response.text)


async def test_failure_after_start_aborts_without_second_start(logs: CapturedLogs) -> None:
    """Once streaming began, a failure cuts the stream: no second start, no final body, one log."""
    messages: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/stream",
        "headers": [],
        "query_string": b"",
        "root_path": "",
    }
    await make()(scope, receive, send)
    starts = [m for m in messages if m["type"] == "http.response.start"]
    assert len(starts) == 1
    assert starts[0]["status"] == 200
    assert all(m.get("more_body", False) for m in messages if m["type"] == "http.response.body")
    assert len(logs.named("response_aborted")) == 1
    no_secret(logs.text)


async def test_id_is_reset_after_requests_and_failures(logs: CapturedLogs) -> None:
    """No id survives in the caller's context, also when the app raised."""
    async with client(make()) as c:
        await c.get("/hello")
        await c.get("/boom")
    assert seawall.get_correlation_id() is None


async def test_300_concurrent_requests_never_mix_ids(logs: CapturedLogs) -> None:
    """Each of 300 concurrent requests sees its own id in header, body and log line."""
    async with client(make()) as c:
        responses = await asyncio.gather(
            *(c.get("/hello", headers={"X-Request-ID": f"req-{n}"}) for n in range(300))
        )
    mismatches = sum(
        r.headers["x-request-id"] != f"req-{n}" or r.json()["correlation_id"] != f"req-{n}"
        for n, r in enumerate(responses)
    )
    logged = sorted(e["correlation_id"] for e in logs.named("hello handled"))
    assert mismatches == 0
    assert logged == sorted(f"req-{n}" for n in range(300))


async def test_slow_route_answers_504(logs: CapturedLogs) -> None:
    """A handler past its route timeout is cancelled and the client gets a 504 problem."""
    async with client(make()) as c:
        response = await c.get("/slow")
    assert response.status_code == 504
    assert response.json()["status"] == 504


async def test_handler_sees_the_route_deadline(logs: CapturedLogs) -> None:
    """Under a route timeout the handler can read its time left, to pass on to its own calls."""

    async def budget(request: Request) -> PlainTextResponse:
        return PlainTextResponse(repr(seawall.deadline.remaining()))

    app = make(
        {"routes": {"GET /budget": {"timeout": 2.0}}}, Router(routes=[Route("/budget", budget)])
    )
    async with client(app) as c:
        left = float((await c.get("/budget")).text)
    assert 1.0 < left <= 2.0
    assert seawall.deadline.remaining() is None


async def test_open_breaker_rejects_without_calling_handler(logs: CapturedLogs) -> None:
    """Failures open the breaker; then 503 with Retry-After, and the handler is not called."""
    app = make()
    async with client(app) as c:
        for _ in range(2):
            assert (await c.get("/flaky", params={"fail": "1"})).status_code == 503
        before = calls["flaky"]
        response = await c.get("/flaky")
    assert calls["flaky"] == before
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["correlation_id"] == response.headers["x-request-id"]
    assert logs.named("breaker_state_changed")[0]["new_state"] == "open"


async def test_breaker_half_opens_on_fake_clock_and_closes(logs: CapturedLogs) -> None:
    """With an injected clock the breaker half-opens after open_for and a good probe closes it."""
    clock = FakeClock()
    pipeline = Pipeline(SETTINGS, clock=clock)
    app = ASGIMiddleware(Router(routes=ROUTES), pipeline=pipeline)
    async with client(app) as c:
        for _ in range(2):
            await c.get("/flaky", params={"fail": "1"})
        assert (await c.get("/flaky")).status_code == 503
        clock.advance(12)  # past open_for plus its 10% jitter
        assert (await c.get("/flaky")).status_code == 200
    assert str(breaker_for(pipeline, "GET", "/flaky").state) == "closed"


async def test_fallback_answers_when_breaker_is_open(logs: CapturedLogs) -> None:
    """A route's fallback produces the response instead of the 503 problem."""
    async with client(make()) as c:
        for _ in range(2):
            await c.get("/reports", params={"fail": "1"})
        response = await c.get("/reports")
    assert response.status_code == 200
    assert response.json() == {"reports": [], "stale": True, "why": "circuit_open"}
    assert response.headers["seawall-fallback"] == "circuit_open"
    assert response.headers["x-request-id"]


async def test_timeout_after_the_response_started_cuts_it_and_skips_the_fallback(
    logs: CapturedLogs,
) -> None:
    """A route without a breaker whose timeout fires mid-stream: one response start only, the
    stream cut and logged; the fallback, which would start a second response, is not asked."""

    async def slow_stream(request: Request) -> StreamingResponse:
        async def body() -> Any:
            yield b"first\n"
            await asyncio.sleep(5)
            yield b"late\n"

        return StreamingResponse(body())

    settings = {"routes": {"GET /s": {"timeout": 0.05, "fallback": f"{__name__}.cached_reports"}}}
    app = make(settings, Router(routes=[Route("/s", slow_stream)]))
    sent: list[Any] = []

    async def receive() -> Any:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(
        {"type": "http", "method": "GET", "path": "/s", "headers": [], "query_string": b""},
        receive,
        send,
    )
    assert [m["type"] for m in sent].count("http.response.start") == 1
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies] == [b"first\n"]
    assert bodies[-1].get("more_body") is True  # never finished: the client sees it cut
    assert len(logs.named("response_aborted")) == 1


async def test_failing_fallback_falls_back_to_problem(logs: CapturedLogs) -> None:
    """A fallback that raises gives the normal 503 problem."""

    def broken(request: FallbackRequest) -> FallbackResponse:
        raise RuntimeError(API_KEY)

    settings = {
        "routes": {
            "GET /flaky": {"breaker": {"minimum_calls": 1, "failure_rate": 1.0}, "fallback": broken}
        }
    }
    async with client(make(settings)) as c:
        await c.get("/flaky", params={"fail": "1"})
        response = await c.get("/flaky")
    assert response.status_code == 503
    assert logs.named("fallback_failed")
    no_secret(logs.text)


async def test_full_bulkhead_answers_503(logs: CapturedLogs) -> None:
    """Over max_concurrency with no queue, the request is refused with 503 and Retry-After."""
    gate = asyncio.Event()

    async def held(request: Request) -> PlainTextResponse:
        await gate.wait()
        return PlainTextResponse("done")

    app = ASGIMiddleware(
        Router(routes=[Route("/held", held)]),
        settings={"routes": {"GET /held": {"max_concurrency": 2}}},
    )
    async with client(app) as c:
        first = [asyncio.create_task(c.get("/held")) for _ in range(2)]
        while not all(t for t in first):
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        refused = await c.get("/held")
        gate.set()
        done = await asyncio.gather(*first)
    assert refused.status_code == 503
    assert refused.json()["reason"] == "bulkhead_full" or "bulkhead" in refused.json()["type"]
    assert "retry-after" in refused.headers
    assert [r.status_code for r in done] == [200, 200]


def test_websocket_accept_carries_the_id(logs: CapturedLogs) -> None:
    """The id is on the websocket handshake response and visible inside the handler."""
    with (
        TestClient(make()) as test_client,
        test_client.websocket_connect("/ws", headers={"X-Request-ID": "ws-1"}) as socket,
    ):
        assert socket.receive_text() == "ws-1"


async def test_lifespan_passes_through_untouched() -> None:
    """Lifespan messages reach the app unchanged."""
    seen: list[str] = []

    async def app(
        scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]], send: Any
    ) -> None:
        seen.append(scope["type"])
        message = await receive()
        seen.append(message["type"])
        await send({"type": "lifespan.startup.complete"})

    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, str]:
        return {"type": "lifespan.startup"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await ASGIMiddleware(app)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan", "lifespan.startup"]
    assert sent == [{"type": "lifespan.startup.complete"}]


def test_problem_json_is_valid_rfc9457(logs: CapturedLogs) -> None:
    """The problem body has the RFC 9457 members with status equal to the HTTP status."""
    before = calls.get("boom", 0)
    with TestClient(make(), raise_server_exceptions=False) as test_client:
        response = test_client.get("/boom")
    body = json.loads(response.text)
    assert {"type", "title", "status", "correlation_id", "error_id"} <= body.keys()
    assert body["status"] == response.status_code
    assert calls["boom"] == before + 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            [(b"content-type", b"text/plain")],
            [(b"content-type", b"text/plain"), (b"x-request-id", b"n")],
        ),
        ([(b"X-Request-ID", b"old"), (b"a", b"1")], [(b"a", b"1"), (b"x-request-id", b"n")]),
        ([(b"x-request-id", b"old")], [(b"x-request-id", b"n")]),
        (
            [(b"Content-Type", b"a"), (b"X-Request-IDs", b"b"), (b"x-request-ix", b"c")],
            [
                (b"Content-Type", b"a"),
                (b"X-Request-IDs", b"b"),
                (b"x-request-ix", b"c"),
                (b"x-request-id", b"n"),
            ],
        ),
        (
            [(b"Access-Control-Expose-Headers", b"ETag")],
            [(b"Access-Control-Expose-Headers", b"ETag, X-Request-ID"), (b"x-request-id", b"n")],
        ),
        (
            iter([(b"access-control-expose-headers", b"*"), (b"etag", b"1")]),
            [(b"access-control-expose-headers", b"*"), (b"etag", b"1"), (b"x-request-id", b"n")],
        ),
        ((), [(b"x-request-id", b"n")]),
    ],
)
def test_set_header_bytes_replaces_merges_and_never_mutates(
    headers: Any, expected: list[tuple[bytes, bytes]]
) -> None:
    """The id header replaces any spelling of an old one, joins the expose list, and the
    app's own header list (often a response object's) is left as it was."""
    original = list(headers) if isinstance(headers, list) else None
    assert set_header_bytes(headers, b"x-request-id", b"n", "X-Request-ID") == expected
    if original is not None:
        assert headers == original


def test_set_header_bytes_replaces_a_name_whatever_its_first_byte() -> None:
    """The first-byte check that spares most names from being lowered ignores case only:
    a name starting with ``_`` or a digit (no case) is still found and replaced."""
    for name in (b"_trace", b"1-trace", b"trace-1"):
        old = name.upper()
        headers = [(b"content", b"a"), (old, b"old"), (b"Xtrace", b"b")]
        expected = [(b"content", b"a"), (b"Xtrace", b"b"), (name, b"n")]
        assert set_header_bytes(headers, name, b"n", name.decode()) == expected


class _Message(MutableMapping[str, Any]):
    """An ASGI message that is a mapping but not a dict (the exchange's generic path)."""

    def __init__(self, **items: Any) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = value

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize("kind", [dict, _Message])
@pytest.mark.parametrize(("status", "state"), [(200, "closed"), (503, "open")])
def test_id_header_and_status_whatever_mapping_the_app_sends(
    kind: Any, status: int, state: str
) -> None:
    """The response start is tagged with the id and its status recorded (the breaker judges
    it: a 200 keeps it closed, 503s open it) whether the app sends dicts or other mappings."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(kind(type="http.response.start", status=status, headers=[(b"a", b"b")]))
        await send(kind(type="http.response.body", body=b"x"))

    sent: list[Any] = []

    async def server_send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    breaker = {"failure_rate": 0.5, "minimum_calls": 2}
    wrapped = ASGIMiddleware(app, settings={"routes": {"GET /x": {"breaker": breaker}}})
    for _ in range(2):
        scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
        asyncio.run(wrapped(scope, receive, server_send))
    start = sent[0]
    assert start["status"] == status
    names = [name for name, _ in start["headers"]]
    assert names == [b"a", b"x-request-id"]
    assert re.fullmatch(rb"[0-9a-f]{32}", start["headers"][1][1])
    guard = wrapped.pipeline.guards.for_path("GET", "/x")[1]
    assert guard is not None
    assert guard.engine.breaker is not None
    assert str(guard.engine.breaker.state) == state
