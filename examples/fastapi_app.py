"""A FastAPI app with seawall installed: ``uvicorn examples.fastapi_app:app``.

``/hello`` logs a line, ``/boom`` fails with secrets in the exception, ``/flaky?fail=1`` fails
behind a circuit breaker, ``/slow`` outlives its timeout, ``/items/{item_id}`` validates input,
``/stock`` calls the upstream dependency (``examples/shared.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import FastAPI

import seawall.logging
from examples import shared
from seawall.integrations.fastapi import CorrelationId, install

SETTINGS = shared.settings()

log = structlog.get_logger("shop")
seawall.logging.configure(format="json")
app = FastAPI()


@app.get("/hello")
async def hello(correlation_id: CorrelationId) -> dict[str, str | None]:
    log.info("hello handled", user_email="jane.doe@example.com")
    return {"message": "hello", "correlation_id": correlation_id}


@app.get("/boom")
async def boom() -> None:
    dsn = "postgresql://shop:" + "Sup3r-s3cret!@db.internal:5432/orders"
    api_key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    raise RuntimeError(f"cannot reach {dsn} with key {api_key} for jane.doe@example.com")


@app.get("/flaky")
async def flaky(fail: int = 0) -> dict[str, str]:
    if fail:
        raise ConnectionError("upstream inventory service refused the connection")
    return {"inventory": "ok"}


@app.get("/slow")
async def slow(seconds: float = 2) -> dict[str, bool]:
    await asyncio.sleep(seconds)
    return {"done": True}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, int]:
    return {"item_id": item_id}


@app.get("/stock")
def stock() -> dict[str, Any]:  # sync: FastAPI runs it in a thread
    return shared.stock()


install(app, SETTINGS)
