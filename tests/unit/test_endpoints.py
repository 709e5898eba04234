"""Operational endpoints: answered before route policies by the ASGI and WSGI middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

from seawall.asgi.middleware import ASGIMiddleware
from seawall.server.endpoints import (
    MAX_BODY,
    EndpointRequest,
    Endpoints,
    bearer_matches,
    json_answer,
)
from seawall.server.pipeline import Pipeline
from seawall.server.response import Rendered
from seawall.testing import breaker_for
from seawall.wsgi.middleware import WSGIMiddleware

ROUTES = {"routes": {"/*": {"breaker": {"minimum_calls": 1, "failure_rate": 0.5}}}}


def echo(request: EndpointRequest) -> Rendered:
    return json_answer(
        200,
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "auth": request.header("authorization"),
            "body": request.body.decode(),
        },
    )


async def aecho(request: EndpointRequest) -> Rendered:
    answer = echo(request)
    return Rendered(answer.status, [*answer.headers, ("x-async", "1")], answer.body)


def broken(request: EndpointRequest) -> Rendered:
    raise RuntimeError("the handler broke")


async def page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("app")


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def pipeline_with_endpoints() -> Pipeline:
    pipeline = Pipeline(ROUTES)
    pipeline.endpoints.add("/_ops", echo, aecho, prefix=True, methods=("GET", "POST"))
    pipeline.endpoints.add("/_broken", broken)
    return pipeline


def clients() -> list[tuple[str, httpx.Client | httpx.AsyncClient]]:
    asgi = ASGIMiddleware(Router([Route("/{p:path}", page)]), pipeline=pipeline_with_endpoints())
    wsgi = WSGIMiddleware(wsgi_app, pipeline=pipeline_with_endpoints())
    return [
        ("asgi", httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t")),
        ("wsgi", httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://t")),
    ]


async def call(client: httpx.Client | httpx.AsyncClient, *args: Any, **kw: Any) -> httpx.Response:
    if isinstance(client, httpx.AsyncClient):
        return await client.request(*args, **kw)
    return client.request(*args, **kw)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
async def test_an_endpoint_answers_while_the_routes_breaker_is_open(kind: str) -> None:
    """The endpoint is answered before route policies: an open breaker refuses the app only."""
    client = dict(clients())[kind]
    app = client._transport.app  # type: ignore[union-attr]
    breaker_for(app.pipeline, "GET", "/page").force_open()
    assert (await call(client, "GET", "/page")).status_code == 503
    answer = await call(client, "GET", "/_ops/sub?x=1", headers={"Authorization": "Bearer t"})
    assert answer.status_code == 200
    assert answer.json() == {
        "method": "GET", "path": "/_ops/sub", "query": "x=1", "auth": "Bearer t", "body": ""
    }  # fmt: skip
    assert answer.headers["cache-control"] == "no-store"
    assert "x-request-id" in answer.headers
    assert ("x-async" in answer.headers) is (kind == "asgi")


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
async def test_only_the_mounted_paths_are_endpoints(kind: str) -> None:
    """``/_opsx`` is not under ``/_ops``: the app answers it."""
    client = dict(clients())[kind]
    answer = await call(client, "GET", "/_opsx")
    assert answer.text == "app"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
async def test_methods_bodies_and_head(kind: str) -> None:
    """POST bodies reach the handler; other methods get 405 with Allow; HEAD has no body."""
    client = dict(clients())[kind]
    posted = await call(client, "POST", "/_ops", content=b"hello")
    assert posted.json()["body"] == "hello"
    refused = await call(client, "DELETE", "/_ops")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD, POST"
    head = await call(client, "HEAD", "/_ops")
    assert head.status_code == 200
    assert head.content == b""
    too_big = await call(client, "POST", "/_ops", content=b"x" * (MAX_BODY + 1))
    assert too_big.status_code == 413


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
async def test_a_failing_handler_is_answered_with_a_problem(kind: str) -> None:
    """An endpoint's own exception becomes the 500 problem, never an unanswered request."""
    client = dict(clients())[kind]
    answer = await call(client, "GET", "/_broken")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "the handler broke" not in answer.text


def test_paths_are_checked_and_mounted_once() -> None:
    """Bad paths and a second mount at one path are errors at start-up."""
    endpoints = Endpoints()
    endpoints.add("/a", echo)
    with pytest.raises(ValueError, match="mounted already"):
        endpoints.add("/a", echo, prefix=True)
    for bad in ("a", "/a/"):
        with pytest.raises(ValueError, match="must start"):
            endpoints.add(bad, echo)
    endpoints.add("/b", echo, prefix=True)
    endpoints.add("/b/c", echo, aecho, prefix=True)
    assert endpoints.find("/b/c/d") is not None
    assert endpoints.find("/b/c/d").path == "/b/c"  # type: ignore[union-attr]
    assert endpoints.find("/b/x").path == "/b"  # type: ignore[union-attr]
    assert endpoints.find("/bx") is None
    assert endpoints.first == ("/a", "/b", "/b/c")


def test_bearer_tokens_compare_whole_and_need_a_token() -> None:
    """Only ``Bearer <token>`` matches; no configured token matches nothing."""
    assert bearer_matches("Bearer s3cret", "s3cret")
    assert bearer_matches("bearer  s3cret ", "s3cret")
    assert not bearer_matches("Bearer s3cre", "s3cret")
    assert not bearer_matches("Basic s3cret", "s3cret")
    assert not bearer_matches(None, "s3cret")
    assert not bearer_matches("Bearer ", None)
