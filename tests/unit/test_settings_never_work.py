"""Settings that could never work are refused at start-up with a SettingsError naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from seawall.config.settings import Settings, SettingsError


def refused(data: dict[str, Any]) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(data)
    return info.value


@pytest.mark.parametrize("window", [1, 5, 19])
def test_a_count_window_smaller_than_minimum_calls_is_refused(window: int) -> None:
    """A count window never holds minimum_calls outcomes, so the breaker could never trip."""
    breaker = {"window_type": "count", "window": window, "minimum_calls": 20}
    error = refused({"routes": {"GET /x": {"breaker": breaker}}})
    assert error.path == 'routes."GET /x".breaker.window'
    assert "minimum_calls" in str(error)


def test_a_count_window_inherits_minimum_calls_from_the_defaults() -> None:
    """The check uses the effective values, inherited ones included."""
    error = refused(
        {
            "defaults": {"breaker": {"minimum_calls": 10}},
            "routes": {"GET /x": {"breaker": {"window_type": "count", "window": 5}}},
        }
    )
    assert error.path == 'routes."GET /x".breaker.window'


def test_a_count_window_as_large_as_minimum_calls_is_accepted() -> None:
    """Equal sizes can trip: the boundary stays allowed."""
    breaker = {"window_type": "count", "window": 20, "minimum_calls": 20}
    Settings.from_mapping({"routes": {"GET /x": {"breaker": breaker}}})


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("GET /x", "GET /x/"),
        ("GET /items/{id}", "GET /items/<int:pk>"),
        ("GET /items/{id}", "get items/<pk>/"),
        ("/admin/*", "/admin/{rest:path}"),
        ("POST /a/{x}/b", "POST  /a/{y}/b/"),
        ("GET /files/<path:p>", "GET /files/{p:path}"),
        ("/static/<path:p>", "/static/*"),
    ],
)
def test_two_keys_for_the_same_route_are_refused(first: str, second: str) -> None:
    """Keys that normalise to one template would silently shadow each other."""
    error = refused({"routes": {first: {"timeout": 1}, second: {"timeout": 2}}})
    assert second in error.path
    assert repr(first) in str(error)


def test_the_same_template_under_two_methods_is_two_routes() -> None:
    """Only the same method and template clash."""
    Settings.from_mapping({"routes": {"GET /x": {"timeout": 1}, "POST /x": {"timeout": 2}}})


@pytest.mark.parametrize(
    "key",
    [
        "GET /search?q={q}",
        "/items?page=1",
        "GET /page#top",
        "GET https://example.test/x",
        "http://example.test/x",
        "GET //example.test/x",
        "GET\t/x",
        "GET /x\ty",
        "GET /a\nb",
        "/a\rb",
        "/a\x00b",
        "/a\x7fb",
        "/a\u2028b",
        "GET /a b",
        "GET /files/a%2Fb",
        "/caf%C3%A9/*",
        "GET /a%20b",
    ],
)
def test_keys_no_request_can_match_are_refused(key: str) -> None:
    """A query, a fragment, a scheme or host, whitespace, a control character or a
    percent-encoded character (paths are decoded first) never match."""
    error = refused({"routes": {key: {"timeout": 1}}})
    assert error.path.startswith("routes.")


@pytest.mark.parametrize(
    "header",
    [
        "Content-Length", "content-length", "Transfer-Encoding", "Host", "Connection",
        "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authorization", "Content-Type",
        "Content-Encoding", "Cookie", "Set-Cookie", "Authorization", "Retry-After",
        "Cache-Control", "Vary",
    ],
)  # fmt: skip
def test_correlation_header_cannot_be_a_framing_or_reserved_header(header: str) -> None:
    """Framing, hop-by-hop, credential and seawall's own headers cannot carry the id."""
    assert refused({"correlation": {"header": header}}).path == "correlation.header"
    assert refused({"correlation": {"header": ["X-Request-ID", header]}}).path == (
        "correlation.header"
    )
    assert refused({"correlation": {"response_header": header}}).path == (
        "correlation.response_header"
    )


@pytest.mark.parametrize(
    "header",
    [
        "Allow", "ETag", "Last-Modified", "Expires", "Server", "Link", "Location",
        "Content-Disposition", "Content-Security-Policy", "Content-Language",
        "Strict-Transport-Security", "X-Frame-Options", "Access-Control-Allow-Origin",
        "Cross-Origin-Opener-Policy", "Accept", "Accept-Language", "Range", "If-None-Match",
        "Origin", "Referer", "User-Agent", "Sec-Fetch-Site", "traceparent", "tracestate",
        "Forwarded", "X-Forwarded-For", "Via",
    ],
)  # fmt: skip
def test_correlation_header_cannot_be_a_field_http_gives_a_meaning(header: str) -> None:
    """The id would replace a 405's ``Allow``, a validator, a security policy, or be read
    from what every client sends for another purpose."""
    assert refused({"correlation": {"header": header}}).path == "correlation.header"
    assert refused({"correlation": {"response_header": header}}).path == (
        "correlation.response_header"
    )


def test_ordinary_id_headers_stay_accepted() -> None:
    """The usual names still work."""
    for header in (
        "X-Request-ID", "X-Correlation-ID", "Request-Id", "traceparent-id", "X-Amzn-Trace-Id",
        "X-Cloud-Trace-Context", "Correlation-ID", "X-Trace-Id",
    ):  # fmt: skip
        Settings.from_mapping({"correlation": {"header": header}})


@pytest.mark.parametrize(
    "value",
    ['Bearer realm="日本"', "a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\x00b", "ok\x7f", "€"],
)
def test_error_map_header_values_must_be_sendable(value: str) -> None:
    """Header values outside latin-1 or with CR, LF, NUL or DEL could never be sent."""
    spec = {"status": 401, "headers": {"WWW-Authenticate": value}}
    error = refused({"errors": {"map": {"builtins.PermissionError": spec}}})
    assert error.path == 'errors.map."builtins.PermissionError".headers.WWW-Authenticate'


def test_error_map_headers_with_latin1_and_tabs_are_accepted() -> None:
    """Latin-1 text and horizontal tabs are valid field values."""
    spec = {"status": 401, "headers": {"WWW-Authenticate": 'Bearer realm="caf\xe9"\tx'}}
    Settings.from_mapping({"errors": {"map": {"builtins.PermissionError": spec}}})


def test_error_map_cannot_set_framing_headers() -> None:
    """Content-Length and friends belong to the server."""
    spec = {"status": 409, "headers": {"Content-Length": "3"}}
    error = refused({"errors": {"map": {"builtins.LookupError": spec}}})
    assert error.path.endswith("headers.Content-Length")


def test_hmac_key_without_the_hmac_placeholder_is_refused() -> None:
    """A key that would never be used is a mistake, not a no-op."""
    error = refused({"redaction": {"hmac_key": "s3cret-key"}})
    assert error.path == "redaction.hmac_key"
    assert refused({"redaction": {"hmac_key": "k", "placeholder": "label"}}).path == (
        "redaction.hmac_key"
    )
    Settings.from_mapping({"redaction": {"hmac_key": "k", "placeholder": "hmac"}})


@pytest.mark.parametrize(
    ("correlation", "header"),
    [({}, "X-Request-ID"), ({}, "x-request-id"), ({"header": "X-Trace"}, "X-Trace"),
     ({"header": ["A-Id", "B-Id"]}, "B-Id"), ({"response_header": "Out-Id"}, "Out-Id")],
)  # fmt: skip
def test_error_map_cannot_set_the_correlation_id_header(
    correlation: dict[str, Any], header: str
) -> None:
    """Every response carries the request's id in that header: the mapped value would never
    be sent (it was dropped without a word)."""
    spec = {"status": 404, "headers": {header: "fixed"}}
    error = refused({"correlation": correlation, "errors": {"map": {"builtins.LookupError": spec}}})
    assert error.path == f'errors.map."builtins.LookupError".headers.{header}'
