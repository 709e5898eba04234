"""One rendered response, handed between layers as it is: status, text headers and body.

Problems, fallbacks and stale answers are built once in this form; WSGI and the framework
adapters use the text headers as they are and ASGI takes the bytes view, so no layer decodes
what another encoded.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from seawall.errors.problems import GENERIC_DETAIL, phrase

__all__ = ["Rendered", "last_resort"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A whole response. Header names are lower-case; ``content-length`` is among them."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        """The WSGI status line, e.g. ``503 Service Unavailable``."""
        return f"{self.status} {phrase(self.status)}"

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as ASGI wants them."""
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in self.headers]


def last_resort(correlation_id: str | None) -> tuple[Rendered, str]:
    """A fixed 500 problem built from nothing but the id (validated ASCII) and a new error id,
    for when the exception's own problem cannot be built: it cannot fail in turn."""
    error_id = secrets.token_hex(16)
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": GENERIC_DETAIL[500],
            "correlation_id": correlation_id,
            "error_id": error_id,
        },
        separators=(",", ":"),
    ).encode("ascii")
    headers = [
        ("content-type", "application/problem+json"),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
    ]
    return Rendered(500, headers, body), error_id
