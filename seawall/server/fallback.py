"""What a route's fallback is told and may answer, and how its answer becomes a response."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from seawall.server.response import Rendered

__all__ = ["FallbackRequest", "FallbackResponse", "render_answer"]


@dataclass(frozen=True, slots=True)
class FallbackRequest:
    """What a fallback callable is told: the request and why seawall did not run the handler."""

    method: str
    path: str
    route: str | None
    reason: str
    correlation_id: str | None


@dataclass(frozen=True, slots=True)
class FallbackResponse:
    """A fallback's answer; a fallback may also return ``str``, ``bytes``, a dict or a list."""

    body: bytes | str | dict[str, Any] | list[Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None

    def render(self, reason: str) -> Rendered:
        """The whole response, marked as a fallback's with ``Seawall-Fallback: reason``."""
        media = self.media_type
        body = self.body
        if isinstance(body, dict | list):
            payload = json.dumps(body, separators=(",", ":")).encode()
            media = media or "application/json"
        elif isinstance(body, str):
            payload = body.encode()
            media = media or "text/plain; charset=utf-8"
        else:
            payload = body
            media = media or "application/octet-stream"
        headers = [(name.lower(), value) for name, value in self.headers.items()]
        headers += [
            ("content-type", media),
            ("content-length", str(len(payload))),
            ("seawall-fallback", reason),
        ]
        return Rendered(self.status, headers, payload)


def render_answer(answer: object, reason: str) -> Rendered | None:
    """A fallback's answer as a response; ``None`` when it is not a kind a fallback may return."""
    if isinstance(answer, FallbackResponse):
        return answer.render(reason)
    if isinstance(answer, str | bytes | dict | list):
        return FallbackResponse(answer).render(reason)
    return None
