"""Operational endpoints over ASGI: the request as an :class:`EndpointRequest`, the answer sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from seawall.asgi.guard import scope_header
from seawall.server.endpoints import BODYLESS, MAX_BODY, Endpoint, EndpointRequest, Endpoints

__all__ = ["answer_endpoint"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


async def answer_endpoint(
    endpoints: Endpoints, endpoint: Endpoint, scope: Message, receive: Receive, send: Send
) -> None:
    """Answer ``endpoint`` for this request: its body read (bounded), its answer sent whole."""
    method = scope.get("method", "GET")
    body = b"" if method in BODYLESS else await _body(receive)
    request = EndpointRequest(
        method,
        scope.get("path", ""),
        scope.get("query_string", b"").decode("latin-1"),
        scope_header(scope.get("headers", ())),
        body,
    )
    answer = await endpoints.aanswer(endpoint, request)
    await send(
        {"type": "http.response.start", "status": answer.status, "headers": answer.raw_headers()}
    )
    await send({"type": "http.response.body", "body": answer.body})


async def _body(receive: Receive) -> bytes:
    """The request body, or its first ``MAX_BODY + 1`` bytes (enough to refuse it)."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
