"""A plain WSGI app wrapped by seawall's WSGI middleware (no framework adapter).

Run it: ``gunicorn examples.wsgi_app:app``. ``/hello`` logs a line with the correlation id,
``/boom`` fails with secrets in the exception, ``/stream`` streams lines that log too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import seawall
import seawall.logging

log = logging.getLogger("shop")


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/hello":
        log.info("hello handled")
        body = json.dumps({"message": "hello", "correlation_id": seawall.get_correlation_id()})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body.encode()]
    if path == "/boom":
        password = "Sup3r-" + "s3cret!"
        raise RuntimeError(f"login failed: password={password} for jane.doe@example.com")
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _stream()
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


def _stream() -> Iterator[bytes]:
    for index in range(3):
        log.info("chunk %d sent", index)
        yield f"chunk {index} {seawall.get_correlation_id()}\n".encode()


seawall.logging.configure(format="json")
app = seawall.WSGIMiddleware(application)
