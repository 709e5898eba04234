"""A real app calling a dependency through seawall's httpx transports (run under uvicorn).

The backend's port comes from ``BACKEND_PORT``. The clients are made at import, before seawall
is installed: the transports find the settings at their first request.
"""

from __future__ import annotations

import contextlib
import os
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seawall.context.deadline import deadline_scope
from seawall.integrations.httpx import AsyncTransport, Transport
from seawall.integrations.starlette import install

PORT = os.environ["BACKEND_PORT"]
ALLOWED = f"http://127.0.0.1:{PORT}"  # a dependency's host: gets the correlation id
OTHER = f"http://localhost:{PORT}"  # the same server under a host nobody allowed

aclient = httpx.AsyncClient(transport=AsyncTransport(), timeout=10)
client = httpx.Client(transport=Transport(), timeout=10)


async def ids(request: Request) -> JSONResponse:
    allowed = (await aclient.get(f"{ALLOWED}/echo")).json()["x-request-id"]
    other = (await aclient.get(f"{OTHER}/echo")).json()["x-request-id"]
    return JSONResponse({"allowed": allowed, "other": other})


async def flaky(request: Request) -> JSONResponse:
    key = request.path_params["key"]
    response = await aclient.get(f"{ALLOWED}/flaky/{key}", params={"fail": 1})
    return JSONResponse({"status": response.status_code})


async def down(request: Request) -> JSONResponse:
    response = await aclient.get(f"{ALLOWED}/down")  # CircuitOpenError once the breaker opens
    return JSONResponse({"status": response.status_code})


async def slow(request: Request) -> JSONResponse:
    t0 = time.monotonic()
    with deadline_scope(0.2), contextlib.suppress(httpx.TimeoutException):
        await aclient.get(f"{ALLOWED}/slow")
    return JSONResponse({"elapsed": time.monotonic() - t0})


def slow_sync(request: Request) -> JSONResponse:
    t0 = time.monotonic()
    with deadline_scope(0.2), contextlib.suppress(httpx.TimeoutException):
        client.get(f"{ALLOWED}/slow")
    return JSONResponse({"elapsed": time.monotonic() - t0})


app = Starlette(
    routes=[
        Route("/ids", ids),
        Route("/flaky/{key}", flaky),
        Route("/down", down),
        Route("/slow", slow),
        Route("/slow-sync", slow_sync),
    ]
)
install(app, {
    "logging": {"format": "json"},
    "dependencies": {
        "backend": {
            "hosts": ["127.0.0.1"],
            "timeout": 5.0,
            "breaker": {"minimum_calls": 8, "failure_rate": 0.5, "open_for": 30},
            "retry": {"attempts": 2, "backoff": 0.05, "max_backoff": 2.0,
                      "budget": {"ratio": 1.0, "min_per_second": 10}},
        },
    },
})  # fmt: skip
