"""Whatever the exception, the client gets a problem with the id, and the id is released.

Exceptions seawall cannot describe (``__str__``/``__repr__``/notes that raise, a registered
detail that raises) still get their problem; header values an exception asks for that cannot be
sent (not latin-1, CR/LF, control characters, framing headers, non-text) are dropped with one
``headers_dropped`` event; when even building the problem fails, a fixed 500 goes out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import httpx
import pytest
from starlette.exceptions import HTTPException

import seawall
from seawall.asgi.middleware import ASGIMiddleware
from seawall.errors.problems import problem
from seawall.testing import CapturedLogs
from seawall.wsgi.middleware import WSGIMiddleware


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("str fails")

    def __repr__(self) -> str:
        raise RuntimeError("repr fails")


class Mute(Exception):
    def __str__(self) -> str:
        raise ValueError("no text")

    def __repr__(self) -> str:
        raise ValueError("no repr")


@problem(409, "Conflict", detail=lambda exc: str(1 / 0))
class BadDetail(Exception):
    """A registered problem whose detail callable raises."""


@problem(409, "Conflict", headers={"X-Why": "a\r\nSet-Cookie: s=1"})
class BadRegisteredHeader(Exception):
    """A code registration whose header would split the response."""


def noted() -> BaseException:
    error = RuntimeError("x")
    error.add_note("fine")
    error.__notes__.append(Unprintable())  # type: ignore[arg-type]
    return error


def notes_not_a_list() -> BaseException:
    error = RuntimeError("x")
    error.__notes__ = Unprintable()  # type: ignore[assignment]
    return error


def with_cause() -> BaseException:
    error = RuntimeError("outer")
    error.__cause__ = Mute()
    return error


UNRENDERABLE: dict[str, Callable[[], BaseException]] = {
    "note_str_raises": noted,
    "notes_not_a_list": notes_not_a_list,
    "str_and_repr_raise": Mute,
    "arg_str_raises": lambda: RuntimeError(Unprintable()),
    "cause_str_raises": with_cause,
    "detail_callable_raises": BadDetail,
    "http_detail_unprintable": lambda: HTTPException(400, detail=Unprintable()),  # type: ignore[arg-type]
}
BAD_HEADERS: dict[str, Callable[[], BaseException]] = {
    "non_latin1": lambda: HTTPException(401, headers={"WWW-Authenticate": 'Bearer realm="日本"'}),
    "crlf": lambda: HTTPException(401, headers={"WWW-Authenticate": "a\r\nSet-Cookie: s=1"}),
    "lf": lambda: HTTPException(401, headers={"WWW-Authenticate": "a\nb"}),
    "nul": lambda: HTTPException(401, headers={"WWW-Authenticate": "a\x00b"}),
    "bad_name": lambda: HTTPException(401, headers={"X Bad\n": "v"}),
    "framing": lambda: HTTPException(401, headers={"Content-Length": "999"}),
    "unprintable_value": lambda: HTTPException(401, headers={"X-A": Unprintable()}),  # type: ignore[dict-item]
    "registered": BadRegisteredHeader,
}


def asgi_client(make: Callable[[], BaseException]) -> httpx.AsyncClient:
    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        raise make()

    transport = httpx.ASGITransport(app=ASGIMiddleware(app), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def wsgi_get(make: Callable[[], BaseException]) -> httpx.Response:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise make()

    transport = httpx.WSGITransport(app=WSGIMiddleware(app), raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        return client.get("/")


def assert_problem_with_id(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    assert body["correlation_id"] == response.headers["x-request-id"]
    assert len(body["error_id"]) == 32
    return body


@pytest.mark.parametrize("name", sorted(UNRENDERABLE))
async def test_asgi_answers_exceptions_it_cannot_describe(name: str, logs: CapturedLogs) -> None:
    """ASGI: a problem with the id for every odd exception; the id is released."""
    async with asgi_client(UNRENDERABLE[name]) as client:
        response = await client.get("/")
    assert response.status_code in (400, 409, 500)
    assert_problem_with_id(response)
    assert seawall.get_correlation_id() is None


@pytest.mark.parametrize("name", sorted(UNRENDERABLE))
def test_wsgi_answers_exceptions_it_cannot_describe(name: str, logs: CapturedLogs) -> None:
    """WSGI: the same, and no id stays set in the thread."""
    response = wsgi_get(UNRENDERABLE[name])
    assert response.status_code in (400, 409, 500)
    assert_problem_with_id(response)
    assert seawall.get_correlation_id() is None


@pytest.mark.parametrize("name", sorted(BAD_HEADERS))
async def test_asgi_drops_unsendable_headers_with_one_event(name: str, logs: CapturedLogs) -> None:
    """ASGI: the problem goes out without the header, and one event names it."""
    async with asgi_client(BAD_HEADERS[name]) as client:
        response = await client.get("/")
    body = assert_problem_with_id(response)
    assert response.status_code == body["status"]
    assert "set-cookie" not in response.headers
    assert "日本" not in response.headers.get("www-authenticate", "")
    assert int(response.headers["content-length"]) == len(response.content)
    [event] = logs.named("headers_dropped")
    assert event["headers"]
    assert event["correlation_id"] == body["correlation_id"]
    assert "Set-Cookie: s=1" not in logs.text
    assert seawall.get_correlation_id() is None


@pytest.mark.parametrize("name", sorted(BAD_HEADERS))
def test_wsgi_drops_unsendable_headers_with_one_event(name: str, logs: CapturedLogs) -> None:
    """WSGI: the same, and the id is released."""
    response = wsgi_get(BAD_HEADERS[name])
    body = assert_problem_with_id(response)
    assert "set-cookie" not in response.headers
    assert len(logs.named("headers_dropped")) == 1
    assert body["status"] == response.status_code
    assert seawall.get_correlation_id() is None


async def test_sendable_headers_are_kept() -> None:
    """The contrast: a latin-1 value with a tab goes out as it is."""
    realm = 'Bearer realm="caf\xe9"\tx'
    async with asgi_client(lambda: HTTPException(401, headers={"WWW-Authenticate": realm})) as c:
        response = await c.get("/")
    assert response.headers["www-authenticate"].encode("latin-1") == realm.encode("latin-1")


def test_wsgi_server_that_refuses_the_problem_headers_gets_the_fixed_answer(
    logs: CapturedLogs,
) -> None:
    """If the server's start_response refuses a header, the fixed 500 answers instead."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})

    sent: list[tuple[str, list[tuple[str, str]]]] = []

    def picky_start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if any(name.lower() == "www-authenticate" for name, _ in headers):
            raise ValueError("this server takes no WWW-Authenticate")
        sent.append((status, headers))
        return lambda data: None

    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.input": None}
    body = b"".join(WSGIMiddleware(app)(environ, picky_start_response))
    assert sent[0][0].startswith("500")
    problem_body = json.loads(body)
    assert problem_body["correlation_id"] == dict(sent[0][1])["X-Request-ID"]
    assert logs.named("answer_failed")[0]["error_id"] == problem_body["error_id"]
    assert seawall.get_correlation_id() is None


def test_fastapi_and_flask_drop_unsendable_headers(logs: CapturedLogs) -> None:
    """The adapters answer through the same pipeline: a 401 without the unsendable header."""
    from fastapi import FastAPI
    from fastapi import HTTPException as FastAPIHTTPException
    from flask import Flask
    from starlette.testclient import TestClient
    from werkzeug.exceptions import Unauthorized

    from seawall.integrations.fastapi import install
    from seawall.integrations.flask import Seawall

    api = FastAPI()

    @api.get("/realm")
    async def realm() -> None:
        raise FastAPIHTTPException(401, headers={"WWW-Authenticate": 'Bearer realm="日本"'})

    install(api, {})
    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/realm")
    assert response.status_code == 401
    assert_problem_with_id(response)  # type: ignore[arg-type]

    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)

    @app.get("/realm")
    def flask_realm() -> Any:
        error = Unauthorized()
        error.get_headers = lambda *a, **k: [("WWW-Authenticate", 'Bearer realm="日本"')]  # type: ignore[method-assign]
        raise error

    Seawall(app)
    answer = app.test_client().get("/realm", buffered=True)
    assert answer.status_code == 401
    assert answer.json is not None
    assert answer.json["correlation_id"] == answer.headers["X-Request-ID"]
    assert seawall.get_correlation_id() is None
