"""A plain WSGI app wrapped by seawall's WSGI middleware (no framework adapter).

Run it: ``gunicorn examples.wsgi_app:app``. ``/hello`` logs a line with the correlation id,
``/boom`` fails with secrets in the exception, ``/stream`` streams lines that log too,
``/flaky?fail=1`` fails behind a circuit breaker and ``/slow`` outlives its timeout (thread
isolation answers 504 while the abandoned work finishes in the background), ``/stock`` calls
the upstream dependency (``examples/shared.py``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

import seawall
import seawall.logging
from examples import shared

log = logging.getLogger("shop")

SETTINGS = shared.settings(slow={"timeout": 0.5, "timeout_mode": "thread", "max_concurrency": 4})
SETTINGS["routes"]["GET /hello"] = {}  # plain WSGI names no route: this key labels its metrics


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
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if path == "/flaky":
        if query.get("fail") == ["1"]:
            raise ConnectionError("upstream inventory service refused the connection")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"inventory": "ok"}']
    if path == "/slow":
        time.sleep(float(query.get("seconds", ["2"])[0]))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"done": true}']
    if path == "/stock":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(shared.stock()).encode()]
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
app = seawall.WSGIMiddleware(application, settings=SETTINGS)
