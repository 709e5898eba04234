"""A dependency that fails on demand, for the dependency end-to-end test (run under uvicorn).

``/echo`` answers with the correlation header it got; ``/flaky/{key}?fail=N`` answers 503 with
``Retry-After: 1`` to its first N calls per key; ``/calls/{key}`` lists when each came (server
monotonic seconds); ``/down`` is always 500; ``/slow`` answers after 2 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs

calls: defaultdict[str, list[float]] = defaultdict(list)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    status, extra, body = 200, [], b"{}"
    if path == "/echo":
        body = json.dumps({"x-request-id": headers.get("x-request-id")}).encode()
    elif path.startswith("/flaky/"):
        key = path.removeprefix("/flaky/")
        calls[key].append(time.monotonic())
        fail = int(parse_qs(scope["query_string"].decode()).get("fail", ["0"])[0])
        if len(calls[key]) <= fail:
            status, extra = 503, [(b"retry-after", b"1")]
    elif path.startswith("/calls/"):
        body = json.dumps(calls[path.removeprefix("/calls/")]).encode()
    elif path == "/down":
        status = 500
    elif path == "/slow":
        await asyncio.sleep(2.0)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *extra]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
