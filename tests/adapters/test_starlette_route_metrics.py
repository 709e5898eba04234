"""Request metrics under ``starlette.install``: the route layer counts a request active and the
correlation layer records it when it ends, whether a layer between passes the scope on, copies
it, or makes one without seawall's keys."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from seawall.integrations import starlette as seawall_starlette
from seawall.server.keys import EXCHANGE
from seawall.server.pipeline import Pipeline
from tests.unit.test_metrics import count, samples

released: list[asyncio.Event] = []  # one per test: an event belongs to the loop that waits


async def wait(request: Request) -> PlainTextResponse:
    await released[-1].wait()
    return PlainTextResponse("done")


class CopiedScope:
    """A user layer that calls the app with a copy of the scope."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(dict(scope), receive, send)


class OwnScope(CopiedScope):
    """A user layer that calls the app with a scope of its own, without seawall's keys."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        own = {k: v for k, v in scope.items() if k != EXCHANGE}
        await self.app(own, receive, send)


def app(layer: type[CopiedScope] | None) -> tuple[Starlette, Pipeline]:
    middleware = [Middleware(layer)] if layer is not None else []
    made = Starlette(routes=[Route("/wait", wait)], middleware=middleware)
    pipeline = seawall_starlette.install(
        made, {"metrics": {"enabled": True}, "routes": {"GET /wait": {"timeout": 5}}}
    )
    return made, pipeline


@pytest.mark.parametrize(
    ("layer", "label"),
    [(None, "/wait"), (CopiedScope, "/wait"), (OwnScope, "(unmatched)")],
    ids=["scope-passed-on", "scope-copied", "scope-of-its-own"],
)
async def test_active_while_running_and_recorded_once_when_done(
    layer: type[CopiedScope] | None, label: str
) -> None:
    """Active exactly while the request runs; its duration counted once (by the route's
    template unless the layer between hid the route from the correlation layer)."""
    released.append(asyncio.Event())
    made, pipeline = app(layer)
    transport = httpx.ASGITransport(app=made, raise_app_exceptions=False)
    assert pipeline.metrics is not None
    route = pipeline.metrics.route("/wait")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        waiting = asyncio.create_task(client.get("/wait"))
        for _ in range(500):  # bounded: the request reaches the route within a few loop turns
            await asyncio.sleep(0.01)
            if route.active == 1:
                break
        during = route.active
        released[-1].set()
        answered = await waiting
        found = samples((await client.get("/metrics")).text)
    assert answered.status_code == 200
    assert (during, route.active) == (1, 0)
    assert count(found, "GET", label, "200") == 1
    assert sum(v for k, v in found.items() if k[0].endswith("_count")) == 1
    assert found[("http_server_active_requests", (("http_route", "/wait"),))] == 0
