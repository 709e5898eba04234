"""The ``correlation`` section: the id's headers, how incoming ids are treated, the generator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeGuard

from seawall.config.parse import FRAMING_HEADERS, HEADER_NAME, Parsed, Table, show
from seawall.config.schema import INCOMING, CorrelationSettings

__all__ = ["parse_correlation"]

KEYS = (
    "header", "response_header", "incoming", "max_length", "generator", "traceparent",
    "propagate_to",
)  # fmt: skip
BUILT_IN_GENERATORS = ("uuid4", "uuid7")
RESERVED = FRAMING_HEADERS | {
    # Credentials and state: an id must never be read from or echoed into these.
    "authorization", "www-authenticate", "cookie", "set-cookie",
    # Headers seawall or HTTP caching writes on its own answers.
    "retry-after", "cache-control", "age", "vary", "date", "location", "expect",
    "access-control-expose-headers", "seawall-fallback", "seawall-stale",
    # Response fields with a meaning of their own (RFC 9110, 9111, 6265, W3C): the id would
    # replace the 405's Allow, a validator, a download's name or a security policy.
    "allow", "etag", "last-modified", "expires", "server", "link", "refresh", "alt-svc",
    "strict-transport-security", "x-frame-options", "x-content-type-options",
    "referrer-policy", "permissions-policy", "clear-site-data", "timing-allow-origin",
    "x-xss-protection", "public-key-pins", "pragma", "warning", "via", "forwarded",
    # Request fields clients send with a meaning of their own: their value is never an id.
    "origin", "referer", "user-agent", "range", "max-forwards", "priority", "early-data",
    "traceparent", "tracestate", "baggage", "x-forwarded-for", "x-forwarded-host",
    "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "x-http-method-override",
}  # fmt: skip
"""Header names an id may not use: framing, hop-by-hop, credentials, and headers seawall sets."""
RESERVED_PREFIXES = (
    "content-", "accept", "if-", "access-control-", "cross-origin-", "sec-", "proxy-",
)  # fmt: skip
"""Families of fields HTTP, CORS and fetch metadata define (Content-Disposition,
Content-Security-Policy, Accept-Language, If-None-Match, Sec-Fetch-Site, ...)."""


def parse_correlation(path: str, raw: object, earlier: Parsed) -> CorrelationSettings:
    s = Table(path, raw, KEYS)
    default = CorrelationSettings()
    headers = _headers(s, default.headers)
    response_header = s.optional_string("response_header") or headers[0]
    _check_name(s, "response_header", response_header)
    max_length = s.integer("max_length", default.max_length, minimum=1, maximum=1024)
    generator_value = s.get("generator", default.generator_name)
    generator: Callable[[], str] | None = None
    generator_name = default.generator_name
    if isinstance(generator_value, str) and generator_value in BUILT_IN_GENERATORS:
        generator_name = generator_value
    elif isinstance(generator_value, str) or callable(generator_value):
        found = s.importable("generator", generator_value, want="generator")
        if _is_generator(found):
            generator = found
            generator_name = generator_value if isinstance(generator_value, str) else "custom"
        else:
            s.error("generator", f"{show(generator_value)} is not callable")
    else:
        s.error(
            "generator", f"expected 'uuid4', 'uuid7' or a dotted path, got {show(generator_value)}"
        )
    return CorrelationSettings(
        headers=headers,
        response_header=response_header,
        incoming=s.choice("incoming", default.incoming, INCOMING),
        max_length=max_length,
        generator=generator,
        generator_name=generator_name,
        traceparent=s.flag("traceparent", default.traceparent),
        propagate_to=s.hosts("propagate_to"),
    )


def _headers(s: Table, default: tuple[str, ...]) -> tuple[str, ...]:
    """``header``: one name or a list of them, in order of precedence."""
    value = s.get("header", default[0])
    headers = (value,) if isinstance(value, str) else s.strings("header")
    if not headers:
        s.error("header", "name at least one header")
        return default
    for name in headers:
        _check_name(s, "header", name)
    return headers


def _check_name(s: Table, key: str, name: str) -> None:
    """A header name the id can live in: a token, and not one HTTP or seawall itself uses."""
    if not HEADER_NAME.fullmatch(name):
        s.error(key, f"{show(name)} is not a valid header name")
        return
    lowered = name.lower()
    if lowered in RESERVED or lowered.startswith(RESERVED_PREFIXES):
        s.error(
            key,
            f"{show(name)} carries framing, credentials, seawall's own answers or another"
            " meaning HTTP gives it, not an id (every response would overwrite or break it):"
            " use a header of its own such as 'X-Request-ID'",
        )


def _is_generator(value: object) -> TypeGuard[Callable[[], str]]:
    """Callable is all start-up can check: the correlation policy validates each id it returns."""
    return callable(value)
