"""FastAPI/Starlette adapter in production mode: ids, problems for every error, route policies."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import seawall
from seawall.config.settings import SettingsError
from seawall.integrations import fastapi as seawall_fastapi
from seawall.integrations import starlette as seawall_starlette
from seawall.testing import CapturedLogs
from tests.fake_secrets import DSN
from tests.garbage import cyclic_garbage

calls: dict[str, int] = {}


def make_app(settings: dict[str, Any] | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    async def hello(cid: seawall_fastapi.CorrelationId) -> dict[str, Any]:
        return {"correlation_id": cid}

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        if item_id == 0:
            raise HTTPException(404, detail="No such item")
        return {"item_id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"cannot reach {DSN}")

    @app.get("/own-id")
    async def own_id() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"X-Request-ID": "app-set"})

    @app.get("/api/flaky/{n}")
    async def flaky(n: int, fail: int = 0) -> dict[str, str]:
        calls["flaky"] = calls.get("flaky", 0) + 1
        if fail:
            raise ConnectionError("upstream down")
        return {"ok": "yes"}

    @app.get("/slow")
    @seawall.policy(timeout=0.05)
    async def slow() -> dict[str, str]:
        await asyncio.sleep(5)
        return {}

    seawall_fastapi.install(
        app,
        settings
        or {
            "routes": {
                "GET /api/flaky/{n}": {
                    "breaker": {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}
                }
            }
        },
    )
    return app


@pytest.fixture
def client(logs: CapturedLogs) -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_open_breaker_serves_the_last_good_answer_of_the_url(logs: CapturedLogs) -> None:
    """With ``stale_if_error`` the open breaker answers a URL it answered before with that
    answer (and today's id); a URL it never answered gets the 503 problem."""
    breaker = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}
    app = make_app({"routes": {"GET /api/flaky/{n}": {"breaker": breaker, "stale_if_error": 60}}})
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/api/flaky/1").json() == {"ok": "yes"}
        for _ in range(2):
            c.get("/api/flaky/2", params={"fail": 1})
        stale = c.get("/api/flaky/1", headers={"X-Request-ID": "now-5"})
        unknown = c.get("/api/flaky/3")
    assert (stale.status_code, stale.json()) == (200, {"ok": "yes"})
    assert stale.headers["seawall-stale"] == "circuit_open"
    assert stale.headers.get_list("x-request-id") == ["now-5"]
    assert unknown.json()["reason"] == "circuit_open"


def test_id_on_200_and_dependency(client: TestClient) -> None:
    """The id is on the response and available through the CorrelationId dependency."""
    response = client.get("/hello", headers={"X-Request-ID": "fa-1"})
    assert response.headers["x-request-id"] == "fa-1"
    assert response.json() == {"correlation_id": "fa-1"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("POST", "/hello", 405),
        ("GET", "/items/abc", 422),
        ("GET", "/items/0", 404),
    ],
)
def test_framework_errors_are_problems_with_the_id(
    client: TestClient, method: str, path: str, status: int
) -> None:
    """404, 405, 422 and HTTPException answers are problem+json and carry the id."""
    response = client.request(method, path, headers={"X-Request-ID": f"fa-{status}"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == response.json()["correlation_id"] == f"fa-{status}"


def test_validation_problem_lists_errors(client: TestClient) -> None:
    """A 422 lists field, message and type of each error."""
    body = client.get("/items/abc").json()
    assert body["errors"][0]["field"] == "path.item_id"
    assert body["status"] == 422


def test_http_exception_keeps_its_detail(client: TestClient) -> None:
    """An HTTPException's own (safe) detail is kept."""
    assert client.get("/items/0").json()["detail"] == "No such item"


def test_500_is_a_problem_with_one_log_and_no_secret(
    client: TestClient, logs: CapturedLogs
) -> None:
    """An unhandled exception answers 500 problem+json, logged once, without the secret."""
    response = client.get("/boom", headers={"X-Request-ID": "fa-500"})
    assert response.status_code == 500
    assert response.json()["correlation_id"] == "fa-500"
    events = logs.named("request_failed")
    assert len(events) == 1
    assert events[0]["route"] == "GET /boom"
    assert "Hunter2" not in response.text
    assert "Hunter2" not in logs.text


def test_app_set_id_is_not_duplicated(client: TestClient) -> None:
    """An id header set by the app is replaced, not duplicated."""
    response = client.get("/own-id", headers={"X-Request-ID": "fa-own"})
    assert response.headers.get_list("x-request-id") == ["fa-own"]


def test_breaker_keyed_by_router_template(client: TestClient) -> None:
    """The breaker of ``GET /api/flaky/{n}`` opens after failures and rejects without calling."""
    for n in range(2):
        assert client.get(f"/api/flaky/{n}", params={"fail": 1}).status_code == 503
    before = calls["flaky"]
    rejected = client.get("/api/flaky/99")
    assert rejected.status_code == 503
    assert rejected.json()["reason"] == "circuit_open"
    assert int(rejected.headers["retry-after"]) >= 1
    assert rejected.headers["x-request-id"]
    assert calls["flaky"] == before


def test_policy_decorator_sets_a_timeout(client: TestClient) -> None:
    """``@seawall.policy(timeout=...)`` on an endpoint gives it a 504 at its timeout."""
    response = client.get("/slow")
    assert response.status_code == 504
    assert response.json()["reason"] == "timeout"


def test_cors_expose_header_is_merged(logs: CapturedLogs) -> None:
    """CORSMiddleware's expose list keeps its names and gains the id header."""
    app = make_app()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], expose_headers=["X-Total"])
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/hello", headers={"Origin": "http://a.example"})
    assert response.headers["access-control-expose-headers"] == "X-Total, X-Request-ID"


def test_settings_errors_raise_at_install() -> None:
    """A bad setting fails install() with the key named."""
    with pytest.raises(SettingsError, match=r"routes\.\"GET /x\"\.timeout"):
        seawall_fastapi.install(FastAPI(), {"routes": {"GET /x": {"timeout": -1}}})


def test_plain_starlette_with_mount(logs: CapturedLogs) -> None:
    """On a Starlette app, a mounted route is keyed by its full template."""

    async def report(request: Request) -> PlainTextResponse:
        await asyncio.sleep(5)
        return PlainTextResponse("late")

    app = Starlette(routes=[Mount("/reports", routes=[Route("/{id}", report)])])
    seawall_starlette.install(app, {"routes": {"GET /reports/{id}": {"timeout": 0.05}}})
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/reports/7")
    assert response.status_code == 504
    assert response.json()["instance"] == "/reports/7"


def test_included_router_routes_get_their_policies(logs: CapturedLogs) -> None:
    """Routes of an APIRouter included with a prefix are guarded by their full template."""
    from fastapi import APIRouter

    app = FastAPI()
    router = APIRouter(prefix="/api")
    hits: list[int] = []

    @router.get("/orders/{order_id}")
    async def orders(order_id: int) -> dict[str, int]:
        hits.append(order_id)
        raise ConnectionError("orders service down")

    @router.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(5)
        return {}

    app.include_router(router, prefix="/v1")
    seawall_fastapi.install(app, {"routes": {
        "GET /v1/api/orders/{order_id}": {"breaker": {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}},
        "GET /v1/api/slow": {"timeout": 0.05},
    }})  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert [test_client.get(f"/v1/api/orders/{n}").status_code for n in range(2)] == [503, 503]
        rejected = test_client.get("/v1/api/orders/9")
        slow_response = test_client.get("/v1/api/slow")
    assert rejected.json()["reason"] == "circuit_open"
    assert hits == [0, 1]
    assert slow_response.status_code == 504


def test_openapi_documents_problem_responses(client: TestClient) -> None:
    """The schema has a Problem component; 422 and default responses use problem+json."""
    schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    responses = schema["paths"]["/items/{item_id}"]["get"]["responses"]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert responses["422"]["content"] == problem
    assert responses["default"]["content"] == problem


def test_app_debug_adds_exception_details(logs: CapturedLogs) -> None:
    """With ``debug=True`` the body names the exception class, with a redacted message."""
    app = FastAPI(debug=True)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"cannot reach {DSN}")

    seawall_fastapi.install(app)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        body = test_client.get("/boom").json()
    assert body["exception"] == "builtins.RuntimeError"
    assert "Hunter2" not in body["message"]


class HoldStart:
    """A user middleware that holds the response start until the first body message (as
    compressing middleware does) and refuses a second start."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        held: list[Any] = []

        async def holding_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                if held:
                    raise AssertionError("a second response start reached the middleware")
                held.append(message)
                return
            if held:
                await send(held.pop())
            await send(message)

        await self.app(scope, receive, holding_send)


class StartsThenFails:
    """A raw ASGI route app that starts its response, then fails."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError(f"failed after start, {DSN}")


def test_start_held_inside_problem_mapping_still_gets_a_problem(logs: CapturedLogs) -> None:
    """A start held by a middleware inside problem mapping never reached the client: the
    failure still gets its problem response, with the id and without the secret."""
    app = Starlette(routes=[Route("/started", StartsThenFails())])
    app.add_middleware(HoldStart)
    seawall_starlette.install(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/started")
    assert response.status_code == 500
    assert response.json()["correlation_id"] == response.headers["x-request-id"]
    assert "a second response start" not in logs.text
    assert "Hunter2" not in response.text + logs.text


def test_start_held_outside_problem_mapping_is_an_abort(logs: CapturedLogs) -> None:
    """Middleware added after install() sits outside problem mapping: once the app has sent
    its start into it, a failure is logged as aborted and no second start is sent."""
    app = Starlette(routes=[Route("/started", StartsThenFails())])
    seawall_starlette.install(app)
    app.add_middleware(HoldStart)
    # No response reaches the test client, which raises for that.
    with TestClient(app, raise_server_exceptions=False) as client, contextlib.suppress(Exception):
        client.get("/started")
    assert len(logs.named("response_aborted")) == 1
    assert "a second response start" not in logs.text
    assert "Hunter2" not in logs.text


@pytest.mark.parametrize("added_after_install", [False, True])
def test_failure_before_start_is_a_problem_whatever_the_middleware_order(
    logs: CapturedLogs, added_after_install: bool
) -> None:
    """Before the response starts, a failure becomes one problem response with the id."""
    app = Starlette(routes=[Route("/boom", _boom)])
    if added_after_install:
        seawall_starlette.install(app)
        app.add_middleware(HoldStart)
    else:
        app.add_middleware(HoldStart)
        seawall_starlette.install(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["correlation_id"] == response.headers["x-request-id"]
    assert "Hunter2" not in response.text + logs.text


async def _boom(request: Request) -> Any:
    raise RuntimeError(f"cannot reach {DSN}")


class DeferAll:
    """A user middleware that passes the response on only once the app has returned (as a
    middleware that runs the app in another task can)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def hold(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        for message in held:
            await send(message)


@pytest.mark.parametrize("deferring", [False, True])
def test_route_breakers_count_the_status_each_route_sent(
    logs: CapturedLogs, deferring: bool
) -> None:
    """Route guards read the correlation layer's record of the response only when every layer
    in between passes messages on at once; behind a middleware that holds them back they watch
    the route's own ``send``. Either way 200s keep a breaker closed and 503s open it."""

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def down(request: Request) -> PlainTextResponse:
        return PlainTextResponse("down", status_code=503)

    app = Starlette(routes=[Route("/ok", ok), Route("/down", down)])
    if deferring:
        app.add_middleware(DeferAll)
    policy = {"breaker": {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}}
    seawall_starlette.install(app, {"routes": {"GET /ok": policy, "GET /down": policy}})
    with TestClient(app, raise_server_exceptions=False) as client:
        assert [client.get("/ok").text for _ in range(4)] == ["ok"] * 4
        assert [client.get("/down").text for _ in range(2)] == ["down"] * 2
        rejected = client.get("/down")
    assert rejected.status_code == 503
    assert rejected.json()["reason"] == "circuit_open"
    guarded = [
        route.app
        for route in app.router.routes
        if isinstance(route, Route) and isinstance(route.app, seawall_starlette.GuardedRoute)
    ]
    assert [g.forwarding for g in guarded] == [not deferring] * 2


def test_requests_leave_no_reference_cycles_for_the_collector(logs: CapturedLogs) -> None:
    """A server's ``send`` often holds the scope (uvicorn's does): what seawall keeps in the
    scope must not close a cycle through it, or every request leaves garbage for the collector."""
    app = make_app({"routes": {"GET /items/{item_id}": {"timeout": 5, "max_concurrency": 10}}})

    class Cycle:  # the shape of a server's per-request object: it holds the scope
        def __init__(self, scope: dict[str, Any]) -> None:
            self.scope = scope
            self.status = 0

        async def receive(self) -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(self, message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]

    async def drive(count: int) -> list[int]:
        statuses = []
        for number in range(count):
            path = f"/items/{number + 1}"
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                "query_string": b"", "root_path": "", "headers": [(b"host", b"test")],
                "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
            }  # fmt: skip
            cycle = Cycle(scope)
            await app(scope, cycle.receive, cycle.send)
            statuses.append(cycle.status)
        return statuses

    async def garbage_after(count: int) -> tuple[list[int], int]:
        await drive(20)  # warm caches and lazily built state
        with cyclic_garbage() as garbage:  # inside one loop: a loop's own set-up is not counted
            statuses = await drive(count)
        return statuses, garbage.count

    statuses, garbage = asyncio.run(garbage_after(200))
    assert statuses == [200] * 200
    assert garbage == 0


def test_route_for_any_method_remembers_a_bounded_number_of_methods(logs: CapturedLogs) -> None:
    """A raw ASGI route takes any method a client makes up: each gets the route's guard, and
    the route remembers the guards of a bounded number of methods."""

    class Raw:  # an ASGI app, not a function: Starlette routes every method to it
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": scope["seawall.route"].encode()})

    app = Starlette(routes=[Route("/any", Raw())])
    seawall_starlette.install(app, {"routes": {"/any": {"max_concurrency": 4}}})
    methods = ["X" + chr(65 + n % 26) + chr(65 + n // 26) for n in range(40)]
    with TestClient(app, raise_server_exceptions=False) as client:
        assert {client.request(method, "/any").text for method in methods} == {"/any"}
    route = app.router.routes[0]
    assert isinstance(route, Route)
    guarded = route.app
    assert isinstance(guarded, seawall_starlette.GuardedRoute)
    assert 0 < len(guarded._by_method) <= 16


@pytest.mark.skipif(
    "max_body_size" not in inspect.signature(FastAPI).parameters,
    reason="this FastAPI has no max_body_size (FastAPI 0.164 added it)",
)
def test_request_body_limit_is_a_413_that_trips_nothing(logs: CapturedLogs) -> None:
    """FastAPI's ``max_body_size``: a body declared too large gets the framework's own 413 with
    the id, no error event and no breaker failure (Starlette sends it, then unwinds with a
    signal that seawall lets through); a body found too large while read is a 413 problem."""
    app = FastAPI(max_body_size=10)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    breaker = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}
    seawall_fastapi.install(app, {"routes": {"POST /upload": {"breaker": breaker}}})
    with TestClient(app, raise_server_exceptions=False) as client:
        declared = [client.post("/upload", content=b"x" * 100) for _ in range(4)]
        streamed = client.post("/upload", content=iter([b"x" * 8, b"x" * 8]))
        fits = client.post("/upload", content=b"x" * 5)
    assert {(r.status_code, r.text) for r in declared} == {(413, "Content Too Large")}
    assert all(r.headers["x-request-id"] for r in declared)
    assert streamed.status_code == 413
    assert streamed.headers["content-type"].startswith("application/problem+json")
    assert streamed.json()["correlation_id"] == streamed.headers["x-request-id"]
    assert fits.json() == {"size": 5}
    assert not [e for e in logs.events if e.get("level") in ("error", "critical")]
