"""One rendered response, handed between layers as it is: status, text headers and body.

Problems, fallbacks and stale answers are built once in this form; WSGI and the framework
adapters use the text headers as they are and ASGI takes the bytes view, so no layer decodes
what another encoded.
"""

from __future__ import annotations

from dataclasses import dataclass

from seawall.errors.problems import phrase

__all__ = ["Rendered"]


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
