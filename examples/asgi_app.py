"""A plain ASGI app (a Starlette router) wrapped by seawall's ASGI middleware.

Run it: ``uvicorn examples.asgi_app:app``. A full ``Starlette``/``FastAPI`` application answers
500s itself before any outer wrapper sees the exception: use ``seawall.integrations.starlette``
for those (see ``examples/fastapi_app.py``). Routes show each feature: ``/hello`` logs a line
with the correlation id, ``/boom`` fails with secrets in the exception, ``/flaky`` fails on
demand behind a circuit breaker, ``/slow`` outlives its timeout, ``/stream`` streams,
``/stock`` calls the upstream dependency (``examples/shared.py``). ``/metrics`` and
``/health/live``, ``/health/ready``, ``/health`` are seawall's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route, Router

import seawall
import seawall.logging
from examples import shared

SETTINGS = shared.settings()
SETTINGS["routes"]["GET /limited"] = {"max_concurrency": 2}
SETTINGS["routes"]["GET /hello"] = {}  # a plain router names no route: this key labels its metrics

log = structlog.get_logger("shop")


async def hello(request: Request) -> JSONResponse:
    log.info("hello handled", user_email="jane.doe@example.com")
    return JSONResponse({"message": "hello", "correlation_id": seawall.get_correlation_id()})


async def boom(request: Request) -> JSONResponse:
    dsn = "postgresql://shop:" + "Sup3r-s3cret!@db.internal:5432/orders"
    api_key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    raise RuntimeError(f"cannot reach {dsn} with key {api_key} for jane.doe@example.com")


async def flaky(request: Request) -> JSONResponse:
    if request.query_params.get("fail") == "1":
        raise ConnectionError("upstream inventory service refused the connection")
    return JSONResponse({"inventory": "ok"})


async def slow(request: Request) -> JSONResponse:
    await asyncio.sleep(float(request.query_params.get("seconds", "2")))
    return JSONResponse({"done": True})


def stock(request: Request) -> JSONResponse:  # sync: Starlette runs it in a thread
    return JSONResponse(shared.stock())


async def stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(3):
            log.info("chunk sent", index=index)
            yield f"chunk {index}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


seawall.logging.configure(format="json")
router = Router(
    routes=[
        Route("/hello", hello),
        Route("/boom", boom),
        Route("/flaky", flaky),
        Route("/slow", slow),
        Route("/limited", slow),
        Route("/stream", stream),
        Route("/stock", stock),
    ]
)
app = seawall.ASGIMiddleware(router, settings=SETTINGS)
