"""Operational endpoints over WSGI (and Django's ``request.META``): the request as an
:class:`EndpointRequest`."""

from __future__ import annotations

from typing import Any

from seawall.server.endpoints import BODYLESS, MAX_BODY, EndpointRequest
from seawall.wsgi.guard import environ_header

__all__ = ["environ_request"]


def environ_request(environ: dict[str, Any], body: bytes | None = None) -> EndpointRequest:
    """The endpoint's view of a WSGI request; its body is read from ``wsgi.input`` (bounded)
    unless given (Django has read it already)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if body is None:
        body = b""
        stream = environ.get("wsgi.input")
        if method not in BODYLESS and stream is not None:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > 0:
                body = stream.read(min(length, MAX_BODY + 1))
    return EndpointRequest(
        method,
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        environ_header(environ),
        body,
    )
