"""Drive seawall's ASGI middleware N times in one process, for instruction counts under callgrind.

Instructions, unlike seconds, repeat exactly for the same build and inputs whatever else the
machine does, so a small change in per-request cost shows. ``benchmarks/instructions.sh`` runs
this twice per stack (two N) and prints the difference per request.

    python benchmarks/callgrind_asgi.py {bare|cid|full|metrics|full50|metrics50} N

``metrics`` is ``full`` with Prometheus metrics on; the ``50`` stacks have 49 more templated
routes, matched before ``/hello``, so the metrics' cost per route count shows.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import seawall

ROUTES = {
    "GET /hello": {
        "timeout": 5.0,
        "max_concurrency": 100,
        "breaker": {"failure_rate": 0.99, "minimum_calls": 1_000_000_000},
    }
}


FIFTY = {**{f"GET /r{n}/{{id}}": ROUTES["GET /hello"] for n in range(49)}, **ROUTES}
METRICS = {"metrics": {"enabled": True}}


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hi"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    return None


async def drive(target: Any, n: int) -> None:
    for _ in range(n):
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/hello",
            "headers": [(b"host", b"x")],
            "query_string": b"",
        }
        await target(scope, receive, send)


def main() -> None:
    logging.disable(logging.CRITICAL)
    stack, n = sys.argv[1], int(sys.argv[2])
    stacks = {
        "bare": lambda: app,
        "cid": lambda: seawall.ASGIMiddleware(app),
        "full": lambda: seawall.ASGIMiddleware(app, settings={"routes": ROUTES}),
        "metrics": lambda: seawall.ASGIMiddleware(app, settings={"routes": ROUTES, **METRICS}),
        "full50": lambda: seawall.ASGIMiddleware(app, settings={"routes": FIFTY}),
        "metrics50": lambda: seawall.ASGIMiddleware(app, settings={"routes": FIFTY, **METRICS}),
    }
    asyncio.run(drive(stacks[stack](), n))


if __name__ == "__main__":
    main()
