"""Apps for the operational end-to-end tests: health checks, a breaker, and the admin API with
the token from ``ADMIN_TOKEN`` (Flask under gunicorn, plain ASGI under uvicorn)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router

import seawall
from seawall.integrations.flask import Seawall


def ready() -> bool:
    """A readiness check that passes."""
    return True


def settings(route: str) -> dict[str, Any]:
    return {
        "admin": {"token": os.environ["ADMIN_TOKEN"]},
        "health": {"checks": {"app": ready}},
        "routes": {route: {"breaker": {"minimum_calls": 4, "open_for": 30}}},
    }


def create_flask() -> Flask:
    app = Flask(__name__)
    app.config["SEAWALL"] = settings("GET /flaky")

    @app.get("/flaky")
    def flaky() -> str:
        return "ok"

    Seawall(app)
    return app


async def flaky(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_asgi() -> seawall.ASGIMiddleware:
    return seawall.ASGIMiddleware(Router([Route("/flaky", flaky)]), settings=settings("GET /flaky"))
