"""Seawall for Starlette apps: ``install(app, settings)``.

Starlette answers unhandled exceptions in ``ServerErrorMiddleware`` before any outer wrapper
sees them, and handles ``HTTPException`` inside. So seawall hooks in three places: correlation
outermost (around the built middleware stack, so 500s carry the id), problem mapping as user
middleware (inside ``ServerErrorMiddleware``), and a problem handler for ``HTTPException``.
Route policies wrap each route's app, keyed by the router's template (mount prefixes included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from seawall.middleware.asgi import ASGIMiddleware, ProblemMiddleware
from seawall.pipeline import Pipeline
from seawall.settings import Settings

__all__ = ["GuardedRoute", "install", "problem_handler"]

ROUTE_KEY = "seawall.route"
_INSTALLED = "_seawall_pipeline"


def install(app: Starlette, settings: Settings | Any = None) -> Pipeline:
    """Add seawall to a Starlette (or FastAPI) app; settings errors raise at once.

    >>> install(app, {"routes": {"GET /reports/{id}": {"timeout": 2}}})
    """
    if getattr(app.state, _INSTALLED, None) is not None:
        raise RuntimeError("seawall is already installed on this app")
    pipeline = Pipeline(_with_app_debug(settings, app.debug))
    setattr(app.state, _INSTALLED, pipeline)
    handler = problem_handler(pipeline)
    app.add_exception_handler(HTTPException, handler)
    app.add_middleware(ProblemMiddleware, pipeline=pipeline)
    build = app.build_middleware_stack

    def build_with_seawall() -> Any:
        # Routes may be added after install(): guard them when the stack is built (first call).
        _guard_routes(app.router.routes, "", pipeline)
        return ASGIMiddleware(build(), pipeline=pipeline, policies=False)

    app.build_middleware_stack = build_with_seawall  # type: ignore[method-assign]
    return pipeline


def _with_app_debug(settings: Settings | Any, debug: bool) -> Settings | Any:
    """``app.debug`` turns on problem debug details unless the settings set ``errors.debug``."""
    if not debug or isinstance(settings, Settings):
        return settings
    data = dict(settings or {})
    errors = dict(data.get("errors") or {})
    errors.setdefault("debug", True)
    data["errors"] = errors
    return data


def problem_handler(pipeline: Pipeline) -> Callable[[Request, Exception], Any]:
    """An exception handler that answers with the problem of the exception (and logs it once)."""

    async def handle(request: Request, exc: Exception) -> Response:
        status, headers, body = pipeline.problem_response(
            exc,
            method=request.method,
            path=request.url.path,
            route=request.scope.get(ROUTE_KEY),
            accept=request.headers.get("accept"),
        )
        response = Response(body, status_code=status)
        response.raw_headers = [(k, v) for k, v in headers if k != b"content-length"] + [
            (b"content-length", str(len(body)).encode())
        ]
        return response

    return handle


class GuardedRoute:
    """A route's ASGI app run under the guard of its template (chosen per method)."""

    def __init__(self, app: Any, template: str, view: object, pipeline: Pipeline) -> None:
        self.app = app
        self.template = template
        self.view = view
        self.guards = pipeline.guards

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        key, guard = self.guards.for_template(scope.get("method", "GET"), self.template, self.view)
        scope[ROUTE_KEY] = key
        if guard is None:
            await self.app(scope, receive, send)
        else:
            await guard.run_asgi(self.app, scope, receive, send)


def _guard_routes(routes: Iterable[BaseRoute], prefix: str, pipeline: Pipeline) -> None:
    for route in routes:
        if isinstance(route, Route) and not isinstance(route.app, GuardedRoute):
            template = prefix + route.path_format
            route.app = GuardedRoute(route.app, template, route.endpoint, pipeline)
        elif hasattr(route, "original_router"):
            # FastAPI 0.16x include_router(): its routes are rebuilt internally, out of reach.
            names = [getattr(r, "path", "?") for r in route.original_router.routes]
            pipeline.logger.warning(
                "routes_without_policies",
                reason="included with FastAPI include_router(); declare them on the app to guard",
                paths=names[:20],
            )
        elif isinstance(route, Mount):
            inner = route.app
            routes_of = getattr(inner, "routes", None)
            if isinstance(inner, Router | Starlette) or routes_of is not None:
                _guard_routes(routes_of or (), prefix + route.path.rstrip("/"), pipeline)
