"""Stale-if-error: which answers a route remembers, when it serves them, and over ASGI and WSGI."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, Router

from seawall.asgi.guard import scope_header
from seawall.asgi.middleware import ASGIMiddleware
from seawall.clock import FakeClock
from seawall.config.settings import Settings, SettingsError
from seawall.guard import FallbackRequest
from seawall.server.pipeline import Pipeline
from seawall.server.stale import MAX_BODY, MAX_ENTRIES, StaleStore
from seawall.testing import CapturedLogs
from seawall.wsgi.guard import environ_header
from seawall.wsgi.middleware import WSGIMiddleware

NO_HEADERS = scope_header([])
BREAKER = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 100}  # still open after 61 s
SETTINGS: dict[str, Any] = {
    "routes": {
        "GET /items/{id}": {"breaker": BREAKER, "stale_if_error": 60},
        "GET /plain/{id}": {"breaker": BREAKER, "stale_if_error": 60, "fallback": f"{__name__}.placeholder"},
    }
}  # fmt: skip
down: set[str] = set()


def placeholder(request: FallbackRequest) -> dict[str, str]:
    return {"placeholder": request.path}


@pytest.fixture(autouse=True)
def healthy_upstream(logs: CapturedLogs) -> None:
    """Each test starts with no item down, its log lines captured rather than printed."""
    down.clear()


def test_a_good_get_answer_is_served_with_its_age_and_why() -> None:
    """The remembered status, headers and body come back, with ``Age`` and ``Seawall-Stale``."""
    clock = FakeClock()
    store = StaleStore(60, clock=clock)
    headers = [("content-type", "application/json"), ("date", "Mon, 30 Nov 2026 10:00:00 GMT")]
    assert store.offer("/items/1", NO_HEADERS, 200, headers, b'{"id":1}')
    clock.advance(42.7)
    found = store.lookup("/items/1", NO_HEADERS, "circuit_open")
    assert found is not None
    answer, age = found
    assert (answer.status, answer.body, age) == (200, b'{"id":1}', 42)
    assert answer.headers == [
        ("content-type", "application/json"),
        ("age", "42"),
        ("seawall-stale", "circuit_open"),
    ]


def test_an_answer_older_than_the_setting_is_not_served() -> None:
    """Past ``stale_if_error`` seconds the entry is too old: the problem response is next."""
    clock = FakeClock()
    store = StaleStore(60, clock=clock)
    store.offer("/items/1", NO_HEADERS, 200, [], b"x")
    clock.advance(60)
    assert store.lookup("/items/1", NO_HEADERS, "timeout") is not None
    clock.advance(0.001)
    assert store.lookup("/items/1", NO_HEADERS, "timeout") is None
    assert store.lookup("/items/2", NO_HEADERS, "timeout") is None


@pytest.mark.parametrize(
    ("status", "headers", "request_headers"),
    [
        (201, [], []),
        (500, [], []),
        (200, [("cache-control", "no-store")], []),
        (200, [("Cache-Control", "max-age=0, private")], []),
        (200, [("set-cookie", "sessionid=abc; HttpOnly")], []),
        (200, [("vary", "*")], []),
        (200, [], [(b"authorization", b"Bearer abc")]),
    ],
)
def test_answers_a_shared_cache_must_not_store_are_not_kept(
    status: int, headers: list[tuple[str, str]], request_headers: list[tuple[bytes, bytes]]
) -> None:
    """Errors, other statuses, private or cookie-setting answers and authorized requests stay out."""
    store = StaleStore(60)
    assert not store.offer("/me", scope_header(request_headers), status, headers, b"mine")
    assert store.lookup("/me", NO_HEADERS, "circuit_open") is None


def test_an_authorized_request_is_kept_when_the_answer_says_public() -> None:
    """RFC 9111: ``Cache-Control: public`` lets a shared cache keep an authorized request's answer."""
    store = StaleStore(60)
    authorized = scope_header([(b"authorization", b"Bearer abc")])
    assert store.offer(
        "/catalog", authorized, 200, [("cache-control", "public, max-age=5")], b"all"
    )


def test_vary_headers_must_match_the_new_request() -> None:
    """A ``Vary: Cookie`` answer is served only to a request with the same cookie."""
    store = StaleStore(60)
    ann = scope_header([(b"cookie", b"user=ann"), (b"accept", b"application/json")])
    bob = scope_header([(b"cookie", b"user=bob"), (b"accept", b"application/json")])
    store.offer("/me", ann, 200, [("vary", "Accept, Cookie")], b"ann's page")
    assert store.lookup("/me", bob, "circuit_open") is None
    assert store.lookup("/me", NO_HEADERS, "circuit_open") is None
    hit = store.lookup("/me", ann, "circuit_open")
    assert hit is not None
    assert hit[0].body == b"ann's page"


def test_bodies_over_the_bound_and_urls_over_the_count_are_not_kept() -> None:
    """At most MAX_ENTRIES URLs per route, the least recently stored leaving first; no body over MAX_BODY."""
    store = StaleStore(60)
    assert not store.offer("/big", NO_HEADERS, 200, [], b"x" * (MAX_BODY + 1))
    for n in range(MAX_ENTRIES + 50):
        store.offer(f"/items/{n}", NO_HEADERS, 200, [], b"x")
    assert len(store) == MAX_ENTRIES
    assert store.lookup("/items/49", NO_HEADERS, "circuit_open") is None
    assert store.lookup("/items/50", NO_HEADERS, "circuit_open") is not None


def test_many_threads_offer_and_look_up_at_once() -> None:
    """64 threads storing and reading 1,000 URLs each leave a consistent, bounded store."""
    store = StaleStore(60)
    errors: list[BaseException] = []
    start = threading.Barrier(64)

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(1000):
                url = f"/items/{(worker * 7 + n) % 300}"
                store.offer(url, NO_HEADERS, 200, [], url.encode())
                hit = store.lookup(url, NO_HEADERS, "circuit_open")
                assert hit is None or hit[0].body == url.encode()
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store) == MAX_ENTRIES


def test_request_header_readers_for_wsgi_and_asgi() -> None:
    """Both protocols' request headers are read by lower-case name."""
    assert environ_header({"HTTP_X_API_KEY": "k"})("x-api-key") == "k"
    assert environ_header({})("cookie") is None
    assert scope_header([(b"accept", b"a"), (b"Accept", b"b")])("accept") == "a,b"


# -- settings -------------------------------------------------------------------------------


def test_stale_if_error_on_a_route_that_never_refuses_is_an_error() -> None:
    """Nothing could ever be served: the error names the route and the key."""
    with pytest.raises(
        SettingsError, match=r'routes\."GET /x"\.stale_if_error: .*has none of them'
    ):
        Settings.from_mapping({"routes": {"GET /x": {"stale_if_error": 30}}})
    with pytest.raises(SettingsError, match=r'routes\."GET /x"\.stale_if_error: .*-1'):
        Settings.from_mapping({"routes": {"GET /x": {"timeout": 1, "stale_if_error": -1}}})


def test_stale_if_error_in_defaults_reaches_every_guarded_route() -> None:
    """Set once in ``defaults``, it applies to the routes that have a breaker, bulkhead or timeout."""
    settings = Settings.from_mapping(
        {"defaults": {"stale_if_error": 30}, "routes": {"GET /x": {"timeout": 1}}}
    )
    assert dict(settings.routes)["GET /x"].stale_if_error == 30


# -- over ASGI --------------------------------------------------------------------------------


async def item(request: Request) -> JSONResponse:
    if request.path_params["id"] in down:
        raise ConnectionError("upstream down")
    return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


async def plain(request: Request) -> PlainTextResponse:
    if down:
        raise ConnectionError("upstream down")
    return PlainTextResponse("fresh")


def asgi_client(clock: FakeClock) -> httpx.AsyncClient:
    pipeline = Pipeline(SETTINGS, clock=clock)
    app = ASGIMiddleware(
        Router(routes=[Route("/items/{id}", item), Route("/plain/{id}", plain)]), pipeline=pipeline
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
    )


async def test_asgi_open_breaker_serves_the_last_good_answer_of_the_url(logs: CapturedLogs) -> None:
    """While the breaker is open, a URL answered before gets that answer (with today's id);
    a URL never answered gets the 503 problem; after stale_if_error seconds, the problem too."""
    clock = FakeClock()
    async with asgi_client(clock) as c:
        good = await c.get("/items/1", params={"q": "a"})
        down.update({"2", "3"})
        for n in "23":
            assert (await c.get(f"/items/{n}")).status_code == 503
        stale = await c.get("/items/1", params={"q": "a"}, headers={"X-Request-ID": "now-1"})
        other_query = await c.get("/items/1", params={"q": "b"})
        clock.advance(61)
        expired = await c.get("/items/1", params={"q": "a"})
    assert stale.status_code == 200
    assert stale.json() == good.json() == {"id": "1", "q": "a"}
    assert stale.headers["seawall-stale"] == "circuit_open"
    assert stale.headers["x-request-id"] == "now-1"
    assert int(stale.headers["age"]) == 0
    assert other_query.status_code == 503
    assert other_query.json()["reason"] == "circuit_open"
    assert expired.status_code == 503


async def test_asgi_stale_answer_comes_before_the_fallback_and_is_never_remembered_again() -> None:
    """A remembered answer wins over the fallback; the fallback serves URLs never answered; a
    served stale answer does not refresh its own age."""
    clock = FakeClock()
    async with asgi_client(clock) as c:
        await c.get("/plain/1")
        down.add("all")
        for _ in range(2):
            await c.get("/plain/9")
        clock.advance(40)
        first = await c.get("/plain/1")
        clock.advance(40)
        later = await c.get("/plain/1")
        never = await c.get("/plain/2")
    assert (first.status_code, first.text, first.headers["age"]) == (200, "fresh", "40")
    assert "seawall-fallback" not in first.headers
    assert later.json() == {"placeholder": "/plain/1"}
    assert later.headers["seawall-fallback"] == "circuit_open"
    assert never.json() == {"placeholder": "/plain/2"}


# -- over WSGI --------------------------------------------------------------------------------


def wsgi_item(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    item_id = environ["PATH_INFO"].rsplit("/", 1)[1]
    if item_id in down:
        raise ConnectionError("upstream down")
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request-ID", "app-set")])
    if environ.get("QUERY_STRING") == "stream":
        return iter([b"item ", item_id.encode()])
    return [b"item ", item_id.encode()]


@pytest.mark.parametrize("query", ["", "stream"])
def test_wsgi_open_breaker_serves_the_last_good_answer(query: str) -> None:
    """List and streamed bodies alike are remembered once fully sent, and served while open."""
    clock = FakeClock()
    app = WSGIMiddleware(wsgi_item, pipeline=Pipeline(SETTINGS, clock=clock))
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://test") as c:
        assert c.get(f"/items/1?{query}").text == "item 1"
        down.update({"2", "3"})
        for n in "23":
            assert c.get(f"/items/{n}").status_code == 503
        stale = c.get(f"/items/1?{query}", headers={"X-Request-ID": "now-2"})
        unknown = c.get("/items/4")
        clock.advance(61)
        expired = c.get(f"/items/1?{query}")
    assert (stale.status_code, stale.text) == (200, "item 1")
    assert stale.headers["seawall-stale"] == "circuit_open"
    assert stale.headers.get_list("x-request-id") == ["now-2"]
    assert unknown.status_code == 503
    assert expired.status_code == 503


# -- what is never remembered -------------------------------------------------------------------

ANY_METHOD: dict[str, Any] = {
    "routes": {
        "/items/{id}": {
            "breaker": BREAKER,
            "stale_if_error": 60,
            "fallback": f"{__name__}.placeholder",
        }
    }
}


def stale_store(pipeline: Pipeline, path: str) -> StaleStore:
    guard = pipeline.guards.for_path("GET", path)[1]
    assert guard is not None
    assert guard.stale is not None
    return guard.stale


async def test_asgi_a_non_get_answer_is_never_remembered() -> None:
    """A ``POST`` answered 200 on a stale-if-error route is not kept for the URL's ``GET``s."""
    pipeline = Pipeline(ANY_METHOD, clock=FakeClock())
    app = ASGIMiddleware(
        Router(routes=[Route("/items/{id}", item, methods=["GET", "POST"])]), pipeline=pipeline
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
    ) as c:
        assert (await c.post("/items/1")).status_code == 200
    assert len(stale_store(pipeline, "/items/1")) == 0


def test_wsgi_a_non_get_answer_is_never_remembered() -> None:
    """The same over WSGI: only ``GET`` answers are offered to the store."""
    pipeline = Pipeline(ANY_METHOD, clock=FakeClock())
    with httpx.Client(
        transport=httpx.WSGITransport(app=WSGIMiddleware(wsgi_item, pipeline=pipeline)),
        base_url="http://test",
    ) as c:
        assert c.post("/items/1").status_code == 200
        assert c.get("/items/2").status_code == 200
    store = stale_store(pipeline, "/items/1")
    assert store.lookup("/items/1", NO_HEADERS, "circuit_open") is None
    assert store.lookup("/items/2", NO_HEADERS, "circuit_open") is not None


def test_wsgi_a_fallback_answer_is_never_remembered_as_the_last_good_one() -> None:
    """A 200 from the fallback, served while the breaker is open, does not enter the store."""
    pipeline = Pipeline(ANY_METHOD, clock=FakeClock())
    with httpx.Client(
        transport=httpx.WSGITransport(app=WSGIMiddleware(wsgi_item, pipeline=pipeline)),
        base_url="http://test",
    ) as c:
        down.update({"2", "3"})
        for n in "23":
            assert c.get(f"/items/{n}").status_code == 503
        served = c.get("/items/5")
    assert served.json() == {"placeholder": "/items/5"}
    assert len(stale_store(pipeline, "/items/5")) == 0


async def test_asgi_a_fallback_answer_is_never_remembered_as_the_last_good_one() -> None:
    """The same over ASGI."""
    pipeline = Pipeline(ANY_METHOD, clock=FakeClock())
    app = ASGIMiddleware(Router(routes=[Route("/items/{id}", item)]), pipeline=pipeline)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
    ) as c:
        down.update({"2", "3"})
        for n in "23":
            assert (await c.get(f"/items/{n}")).status_code == 503
        served = await c.get("/items/5")
    assert served.json() == {"placeholder": "/items/5"}
    assert len(stale_store(pipeline, "/items/5")) == 0
