"""Memory stays flat: 1 M distinct URLs and 1 M breaker rejections through the full ASGI stack.

Calls seawall's ASGI middleware in-process (no sockets) and compares traced memory after a
warm-up with traced memory after the run. Prints the growth in bytes for each case.

    python benchmarks/bench_memory.py [count]
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import tracemalloc
from typing import Any

import seawall
import seawall.logging
from seawall.server.pipeline import Pipeline
from seawall.testing import breaker_for

SETTINGS = {
    "routes": {
        "GET /items/{id}": {
            "timeout": 5,
            "max_concurrency": 100,
            "breaker": {"minimum_calls": 10**9},
        },
        "GET /down/{id}": {"breaker": {"minimum_calls": 1, "failure_rate": 1.0, "open_for": 3600}},
    },
    "defaults": {"timeout": 5},
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    return None


def scope(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": [(b"host", b"bench")]}  # fmt: skip


async def drive(middleware: Any, paths: Any) -> None:
    for path in paths:
        await middleware(scope(path), receive, send)


def measure(label: str, middleware: Any, make_path: Any, count: int) -> None:
    asyncio.run(drive(middleware, (make_path(n) for n in range(10_000))))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    asyncio.run(drive(middleware, (make_path(n) for n in range(10_000, 10_000 + count))))
    elapsed = time.perf_counter() - started
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"| {label} | {count:,} | {after - before:+,} B | {elapsed:.1f} s |")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with open("/dev/null", "w") as sink:  # seawall's own events (breaker, rejections) go nowhere
        seawall.logging.configure(format="json", stream=sink, take_over=(), level="ERROR")
        pipeline = Pipeline(SETTINGS)
        middleware = seawall.ASGIMiddleware(app, pipeline=pipeline)
        breaker_for(pipeline, "GET", "/down/1").force_open()
        print("| case | requests | traced memory growth | time |")
        print("|---|---:|---:|---:|")
        measure("distinct URLs, matched route", middleware, lambda n: f"/items/{n}", count)
        measure("distinct URLs, no route (defaults)", middleware, lambda n: f"/x/{n}/y{n}", count)
        measure("breaker rejections (503)", middleware, lambda n: f"/down/{n}", count)


if __name__ == "__main__":
    main()
