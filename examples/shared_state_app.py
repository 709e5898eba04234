"""One app under several workers sharing breaker state on Redis: WSGI ``app``, ASGI ``asgi``.

Run it: ``SEAWALL_STATE__URL=redis://127.0.0.1:6379/0 SEAWALL_ADMIN__TOKEN=secret
gunicorn -w 3 examples.shared_state_app:app`` (or ``uvicorn --workers 3
examples.shared_state_app:asgi``). ``/flaky?fail=1`` fails behind a breaker, ``?sleep=S`` takes
S seconds; ``/state`` says which worker answered, its breaker's state and when it last opened
(wall clock); ``/trip`` opens this worker's breaker by recording failures until it opens.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import seawall
from seawall.asgi.middleware import ASGIMiddleware, Receive, Scope, Send
from seawall.events import BreakerStateChanged
from seawall.server.pipeline import Pipeline
from seawall.wsgi.middleware import WSGIMiddleware

ROUTE = "GET /flaky"
SETTINGS = {
    "state": {"backend": "redis", "timeout": 0.05},
    "routes": {
        ROUTE: {
            "breaker": {"failure_rate": 0.5, "minimum_calls": 4, "open_for": 4,
                        "half_open_calls": 2, "jitter": 0},
        },
    },
}  # fmt: skip
opened_at: list[float] = []


def build(pipeline: Pipeline) -> Pipeline:
    def opened(event: BreakerStateChanged) -> None:
        if event.new_state == "open":
            opened_at.append(time.time())

    pipeline.events.subscribe(BreakerStateChanged, opened)
    return pipeline


def state(pipeline: Pipeline) -> dict[str, Any]:
    breaker = pipeline.breakers.named(ROUTE)[0].breaker
    shared = getattr(pipeline.state, "available", None)
    return {
        "pid": os.getpid(),
        "state": breaker.state.value,
        "opened_at": opened_at[-1] if opened_at else None,
        "available": shared,
    }


def trip(pipeline: Pipeline) -> dict[str, Any]:
    breaker = pipeline.breakers.named(ROUTE)[0].breaker
    for _ in range(100_000):  # enough failures to outweigh the window's successes
        permit = breaker.try_acquire()
        if permit is None or breaker.state != "closed":
            break
        permit.failure()
    return {"pid": os.getpid(), "at": time.time(), "state": breaker.state.value}


def _answer(path: str, query: dict[str, list[str]], pipeline: Pipeline) -> dict[str, Any] | None:
    if path == "/state":
        return state(pipeline)
    if path == "/trip":
        return trip(pipeline)
    if path == "/flaky" and query.get("fail") == ["1"]:
        raise ConnectionError("upstream refused the connection")
    return None


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    data = _answer(environ["PATH_INFO"], query, _built["app"].pipeline)
    if data is None:
        time.sleep(float(query.get("sleep", ["0"])[0]))
        data = {"pid": os.getpid()}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(data).encode()]


async def asgi_application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    query = parse_qs(scope.get("query_string", b"").decode())
    data = _answer(scope["path"], query, _built["asgi"].pipeline)
    if data is None:
        await asyncio.sleep(float(query.get("sleep", ["0"])[0]))
        data = {"pid": os.getpid()}
    body = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """Build only the app the server asks for: each would hold its own Redis connections."""
    if name not in ("app", "asgi"):
        raise AttributeError(name)
    if name not in _built:
        pipeline = build(Pipeline(seawall.Settings.from_env(SETTINGS)))
        if name == "app":
            _built[name] = WSGIMiddleware(application, pipeline=pipeline)
        else:
            _built[name] = ASGIMiddleware(asgi_application, pipeline=pipeline)
    return _built[name]
