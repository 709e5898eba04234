"""Route policies cover every path and method their key claims: no bypass by encoding or method."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse

from seawall.asgi.middleware import ASGIMiddleware
from seawall.config.routes import RouteTable
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, breaker_for
from seawall.wsgi.middleware import WSGIMiddleware

ODD_PATHS = [
    "/admin/a\nb", "/admin/\n", "/admin/a\r\nb", "/admin/a\x00b", "/admin/a\x85b",
    "/admin/a\u2028b", "/admin/a b", "/admin/\t", "/admin/x/\ny/z",
]  # fmt: skip
EXTENSION_METHODS = ["M-SEARCH", "PROPFIND", "PURGE", "LINK", "X_CUSTOM", "BREW"]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_a_prefix_key_covers_decoded_paths_with_any_character(path: str) -> None:
    """``/admin/*`` covers ``/admin/a\\nb`` and every other decoded character."""
    table = RouteTable([("/admin/*", "admin")], "none")
    assert table.match_path("GET", path) == ("/admin/*", "admin")


@pytest.mark.parametrize("path", ["/items/a\nb", "/items/\r", "/items/\x00"])
def test_a_parameter_covers_segments_with_any_character(path: str) -> None:
    """``{id}`` takes any character but ``/``, newlines included."""
    table = RouteTable([("GET /items/{id}", "item")], "none")
    assert table.match_path("GET", path) == ("GET /items/{id}", "item")
    assert table.match_path("GET", path + "/") == ("GET /items/{id}", "item")


@pytest.mark.parametrize("key", ["GET /files/<path:rest>", "GET files/<path:rest>/"])
@pytest.mark.parametrize("path", ["/files/a", "/files/a/b", "/files/a/b/c.txt", "/files/a/\nb"])
def test_a_flask_or_django_path_converter_covers_the_rest_of_the_path(key: str, path: str) -> None:
    """``<path:rest>`` takes slashes as Flask's and Django's converters do, as ``{rest:path}``."""
    table = RouteTable([(key, "files"), ("GET /other", "other")], "none")
    assert table.match_path("GET", path) == (key, "files")


def test_a_path_converter_rule_finds_its_own_key_not_its_parent() -> None:
    """A Flask rule ``/files/<path:p>`` is governed by its key, not by ``GET /files``."""
    table = RouteTable([("GET /files", "parent"), ("GET /files/<path:p>", "files")], "none")
    assert table.match_template("GET", "/files/<path:name>") == ("GET /files/<path:p>", "files")
    assert table.match_template("GET", "/m/<path:p>/edit") == (None, "none")


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("/admin/*", "//admin/x"),
        ("/admin/*", "///admin"),
        ("GET /login", "//login"),
        ("GET /login", "/login//"),
        ("GET /items/{id}/edit", "/items//5//edit/"),
    ],
)
def test_runs_of_slashes_do_not_escape_a_key(key: str, path: str) -> None:
    """``//admin/x`` is ``/admin/x`` to servers and proxies that merge slashes: covered."""
    table = RouteTable([(key, "policy")], "none")
    assert table.match_path("GET", path) == (key, "policy")
    assert table.match_path("GET", path.replace("/", "/x", 1)) == (None, "none")


@pytest.mark.parametrize("keys", [["GET /x", "HEAD /x"], ["HEAD /x", "GET /x"]])
@pytest.mark.parametrize("path", ["/x", "/x/"])
def test_a_head_key_is_not_shadowed_by_the_get_key(keys: list[str], path: str) -> None:
    """``GET /x`` also covers HEAD, but a ``HEAD /x`` key, in any order, governs HEAD."""
    table = RouteTable([(key, key.split()[0]) for key in keys], "none")
    assert table.match_path("HEAD", path) == ("HEAD /x", "HEAD")
    assert table.match_path("GET", path) == ("GET /x", "GET")
    prefixes = RouteTable([("GET /x/*", "GET"), ("HEAD /x/*", "HEAD")], "none")
    assert prefixes.match_path("HEAD", "/x/y") == ("HEAD /x/*", "HEAD")


@pytest.mark.parametrize("method", ["get", "Get", "head", "post"])
def test_a_method_in_any_case_is_covered(method: str) -> None:
    """Django and Werkzeug route ``get`` as ``GET``: a lower-case method does not escape."""
    table = RouteTable([("GET /admin", "get"), ("POST /admin", "post")], "none")
    wanted = "post" if method == "post" else "get"
    assert table.match_path(method, "/admin")[1] == wanted


@pytest.mark.parametrize("method", EXTENSION_METHODS)
def test_a_key_without_a_method_covers_extension_methods(method: str) -> None:
    """A key with no method covers every method, not only the ones RFC 9110 lists."""
    table = RouteTable([("/admin/*", "admin"), ("/ssdp", "ssdp")], "none")
    assert table.match_path(method, "/admin/x") == ("/admin/*", "admin")
    assert table.match_path(method, "/ssdp") == ("/ssdp", "ssdp")


SETTINGS: dict[str, Any] = {"routes": {"/admin/*": {"breaker": {"minimum_calls": 1}}}}


async def asgi_ok(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    response = PlainTextResponse("handled")
    await response(scope, receive, send)


def wsgi_ok(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"handled"]


@pytest.mark.parametrize("url", ["/admin/a%0Ab", "/admin/%0D%0A", "/admin/a%00b", "/admin/%09"])
async def test_asgi_policy_applies_to_encoded_control_characters(
    url: str, logs: CapturedLogs
) -> None:
    """Under ASGI an open ``/admin/*`` breaker refuses ``/admin/a%0Ab`` as well."""
    pipeline = Pipeline(SETTINGS)
    breaker_for(pipeline, "GET", "/admin/x").force_open()
    app = ASGIMiddleware(asgi_ok, pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(url)
    assert response.status_code == 503
    assert response.json()["reason"] == "circuit_open"


@pytest.mark.parametrize("method", EXTENSION_METHODS)
async def test_asgi_policy_applies_to_extension_methods(method: str, logs: CapturedLogs) -> None:
    """Under ASGI an open ``/admin/*`` breaker refuses ``M-SEARCH /admin/x``."""
    pipeline = Pipeline(SETTINGS)
    breaker_for(pipeline, "GET", "/admin/x").force_open()
    app = ASGIMiddleware(asgi_ok, pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, "/admin/x")
    assert response.status_code == 503


@pytest.mark.parametrize("url", ["/admin/a%0Ab", "/admin/%0D%0A", "/admin/a%00b", "/admin/%09"])
def test_wsgi_policy_applies_to_encoded_control_characters(url: str, logs: CapturedLogs) -> None:
    """Under WSGI an open ``/admin/*`` breaker refuses ``/admin/a%0Ab`` as well."""
    pipeline = Pipeline(SETTINGS)
    breaker_for(pipeline, "GET", "/admin/x").force_open()
    app = WSGIMiddleware(wsgi_ok, pipeline=pipeline)
    transport = httpx.WSGITransport(app=app, raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        response = client.get(url)
    assert response.status_code == 503
    assert response.json()["reason"] == "circuit_open"


@pytest.mark.parametrize("method", EXTENSION_METHODS)
def test_wsgi_policy_applies_to_extension_methods(method: str, logs: CapturedLogs) -> None:
    """Under WSGI an open ``/admin/*`` breaker refuses ``PROPFIND /admin/x``."""
    pipeline = Pipeline(SETTINGS)
    breaker_for(pipeline, "GET", "/admin/x").force_open()
    app = WSGIMiddleware(wsgi_ok, pipeline=pipeline)
    transport = httpx.WSGITransport(app=app, raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        response = client.request(method, "/admin/x")
    assert response.status_code == 503


PATH_SETTINGS: dict[str, Any] = {
    "routes": {"GET /files/<path:p>": {"breaker": {"minimum_calls": 1}}}
}


async def test_asgi_policy_of_a_path_converter_key_covers_deeper_paths(logs: CapturedLogs) -> None:
    """Under ASGI an open ``GET /files/<path:p>`` breaker refuses ``/files/a/b``."""
    pipeline = Pipeline(PATH_SETTINGS)
    breaker_for(pipeline, "GET", "/files/a").force_open()
    app = ASGIMiddleware(asgi_ok, pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/files/a/b%2Fc/d")
    assert response.status_code == 503


def test_wsgi_policy_of_a_path_converter_key_covers_deeper_paths(logs: CapturedLogs) -> None:
    """Under WSGI the same."""
    pipeline = Pipeline(PATH_SETTINGS)
    breaker_for(pipeline, "GET", "/files/a").force_open()
    app = WSGIMiddleware(wsgi_ok, pipeline=pipeline)
    transport = httpx.WSGITransport(app=app, raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        response = client.get("/files/a/b/c")
    assert response.status_code == 503


def test_wsgi_policy_covers_a_lower_case_method_a_flask_app_serves(logs: CapturedLogs) -> None:
    """Under WSGI around a Flask app (which serves ``get`` as ``GET``), an open ``GET /admin``
    breaker refuses ``get /admin`` too; a real server passes the method as the client sent it."""
    from flask import Flask

    flask_app = Flask(__name__)
    flask_app.add_url_rule("/admin", "admin", lambda: "served")
    pipeline = Pipeline({"routes": {"GET /admin": {"breaker": {"minimum_calls": 1}}}})
    breaker_for(pipeline, "GET", "/admin").force_open()
    app = WSGIMiddleware(flask_app.wsgi_app, pipeline=pipeline)
    environ = {
        "REQUEST_METHOD": "get", "PATH_INFO": "/admin", "QUERY_STRING": "",
        "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
    }  # fmt: skip
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        statuses.append(status)
        return lambda data: None

    body = b"".join(app(environ, start_response))
    assert statuses == ["503 Service Unavailable"]
    assert b"served" not in body
