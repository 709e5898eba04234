"""Several ``traceparent`` headers make the trace context invalid (W3C Trace Context)."""

from __future__ import annotations

import wsgiref.util
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import httpx
import pytest

import seawall
from seawall.asgi.middleware import ASGIMiddleware
from seawall.config.settings import Settings
from seawall.context.correlation import CorrelationPolicy
from seawall.wsgi.middleware import WSGIMiddleware

FIRST = "4bf92f3577b34da6a3ce929d0e0e4736"
SECOND = "0af7651916cd43dd8448eb211c80319c"


def header(trace_id: str) -> bytes:
    return f"00-{trace_id}-00f067aa0ba902b7-01".encode()


def policy() -> CorrelationPolicy:
    return CorrelationPolicy(
        Settings.from_mapping({"correlation": {"traceparent": True}}).correlation
    )


def test_one_traceparent_is_adopted() -> None:
    """The baseline: a single valid header gives its trace id."""
    assert policy().resolve([(b"traceparent", header(FIRST))])[0] == FIRST


@pytest.mark.parametrize(
    "values",
    [[FIRST, SECOND], [FIRST, FIRST], [SECOND, FIRST], [FIRST, SECOND, FIRST]],
)
def test_several_traceparent_headers_are_invalid(values: list[str]) -> None:
    """Neither the first nor the last of several headers wins: a fresh id is made."""
    resolved, _ = policy().resolve([(b"traceparent", header(v)) for v in values])
    assert resolved not in values


def test_a_valid_traceparent_beside_an_invalid_one_is_invalid_too() -> None:
    """Two headers are invalid whatever each holds."""
    headers = [(b"traceparent", b"garbage"), (b"traceparent", header(FIRST))]
    assert policy().resolve(headers)[0] != FIRST


@pytest.mark.parametrize(
    "joined",
    [
        f"{header(FIRST).decode()}, {header(SECOND).decode()}",
        f"{header(FIRST).decode()},{header(FIRST).decode()}",
    ],
)
def test_comma_joined_traceparents_are_invalid(joined: str) -> None:
    """WSGI servers join repeated headers with commas: that is several headers too."""
    resolved, _ = policy().resolve_environ({"HTTP_TRACEPARENT": joined})
    assert resolved not in (FIRST, SECOND)


async def test_asgi_ignores_repeated_traceparent_headers() -> None:
    """Through the ASGI middleware the id is fresh when two traceparents arrive."""

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        body = str(seawall.get_correlation_id()).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    wrapped = ASGIMiddleware(app, settings={"correlation": {"traceparent": True}})
    transport = httpx.ASGITransport(app=wrapped)
    headers = [("traceparent", header(FIRST).decode()), ("traceparent", header(SECOND).decode())]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        single = await client.get("/", headers=headers[:1])
        several = await client.get("/", headers=headers)
    assert single.text == FIRST
    assert several.text not in (FIRST, SECOND)
    assert several.headers["x-request-id"] == several.text


def test_wsgi_ignores_repeated_traceparent_headers() -> None:
    """Through the WSGI middleware, headers the server joined with a comma give a fresh id."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [str(seawall.get_correlation_id()).encode()]

    wrapped = WSGIMiddleware(app, settings={"correlation": {"traceparent": True}})

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        return lambda data: None

    def call(traceparent: str) -> str:
        environ: dict[str, Any] = {"HTTP_TRACEPARENT": traceparent}
        wsgiref.util.setup_testing_defaults(environ)
        body = wrapped(environ, start_response)
        try:
            return b"".join(body).decode()
        finally:
            getattr(body, "close", lambda: None)()

    assert call(header(FIRST).decode()) == FIRST
    joined = call(f"{header(FIRST).decode()},{header(SECOND).decode()}")
    assert joined not in (FIRST, SECOND)
