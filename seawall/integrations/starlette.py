"""Seawall for Starlette apps: ``install(app, settings)``.

Starlette answers unhandled exceptions in ``ServerErrorMiddleware`` before any outer wrapper
sees them, and handles ``HTTPException`` inside. So seawall hooks in three places: correlation
outermost (around the built middleware stack, so 500s carry the id), problem mapping as user
middleware (inside ``ServerErrorMiddleware``), and a problem handler for ``HTTPException``.
Route policies wrap each route's app, keyed by the router's template (mount prefixes included).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from seawall.asgi.guard import run_guarded
from seawall.asgi.middleware import ASGIMiddleware, ProblemMiddleware
from seawall.config.settings import Settings
from seawall.config.sources import framework_settings
from seawall.server.guard import RouteGuard
from seawall.server.keys import EXCHANGE, ROUTE, ROUTE_METRICS
from seawall.server.pipeline import Pipeline

__all__ = ["GuardedRoute", "install", "problem_handler"]

_GUARDED = "__seawall_guarded__"
_INSTALLED = "_seawall_pipeline"
_METHODS_REMEMBERED = 16


def install(app: Starlette, settings: Settings | Any = None) -> Pipeline:
    """Add seawall to a Starlette (or FastAPI) app; settings errors raise at once.

    >>> install(app, {"routes": {"GET /reports/{id}": {"timeout": 2}}})
    """
    if getattr(app.state, _INSTALLED, None) is not None:
        raise RuntimeError("seawall is already installed on this app")
    pipeline = Pipeline(framework_settings(settings, debug=app.debug))
    setattr(app.state, _INSTALLED, pipeline)
    handler = problem_handler(pipeline)
    app.add_exception_handler(HTTPException, handler)
    problems = Middleware(ProblemMiddleware, pipeline=pipeline)
    app.user_middleware.insert(0, problems)
    build = app.build_middleware_stack

    def build_with_seawall() -> Any:
        # Routes and middleware may be added after install(): look when the stack is built.
        # Right inside ServerErrorMiddleware (nothing added later in between), problem mapping
        # can read the correlation layer's record of the response instead of wrapping send;
        # with no other user middleware, so can the route guards (Starlette's own layers
        # between them forward every message at once).
        adjacent = app.user_middleware[0] is problems
        problems.kwargs["adjacent"] = adjacent
        _guard_routes(app.router.routes, "", pipeline, adjacent and len(app.user_middleware) == 1)
        return ASGIMiddleware(build(), pipeline=pipeline, policies=False)

    app.build_middleware_stack = build_with_seawall  # type: ignore[method-assign]
    return pipeline


def problem_handler(pipeline: Pipeline) -> Callable[[Request, Exception], Any]:
    """An exception handler that answers with the problem of the exception (and logs it once)."""

    async def handle(request: Request, exc: Exception) -> Response:
        answer = pipeline.problem_response(
            exc,
            method=request.method,
            path=request.url.path,
            route=request.scope.get(ROUTE),
            accept=request.headers.get("accept"),
        )
        response = Response(answer.body, status_code=answer.status)
        response.raw_headers = answer.raw_headers()
        return response

    return handle


class GuardedRoute:
    """A route's ASGI app run under the guard of its template (chosen per method).

    ``forwarding`` says every layer between it and seawall's correlation layer passes each
    message on at once, so the guard can read that layer's exchange for the status.
    """

    def __init__(
        self, app: Any, template: str, view: object, pipeline: Pipeline, forwarding: bool = False
    ) -> None:
        self.app = app
        self.template = template
        self.view = view
        self.guards = pipeline.guards
        self.forwarding = forwarding
        self._by_method: dict[str, tuple[str, RouteGuard | None]] = {}
        metrics = pipeline.metrics
        self.measured: Any = None if metrics is None else metrics.route(template)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        method = scope.get("method", "GET")
        found = self._by_method.get(method)
        if found is None:
            found = self.guards.for_template(method, self.template, self.view)
            if len(self._by_method) < _METHODS_REMEMBERED:  # a route may accept any method
                self._by_method[method] = found
        key, guard = found
        scope[ROUTE] = key
        measured = self.measured
        if measured is not None:  # the outer layer times the request under this label
            scope[ROUTE_METRICS] = measured
            measured.start()
        try:
            if guard is None:
                await self.app(scope, receive, send)
            else:
                exchange = scope.get(EXCHANGE) if self.forwarding else None
                await run_guarded(guard, self.app, scope, receive, send, exchange)
        finally:
            if measured is not None:
                measured.end()


def _guarded_endpoint(route: Route, template: str, pipeline: Pipeline) -> Callable[..., Any]:
    """The endpoint run under its route's guard (for routes seawall cannot wrap as ASGI apps).

    The breaker sees the endpoint's outcome (an exception, or success) rather than the status.
    """
    endpoint = route.endpoint
    method = min((m for m in route.methods or {"GET"} if m != "HEAD"), default="GET")
    guard = pipeline.guards.for_template(method, template, endpoint)[1]
    if guard is None:
        return endpoint
    engine = guard.engine
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            return await engine.acall(endpoint, *args, **kwargs)

    else:

        @functools.wraps(endpoint)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            return engine.call(endpoint, *args, **kwargs)

    setattr(guarded, _GUARDED, True)
    return guarded


def _guard_routes(
    routes: Iterable[BaseRoute], prefix: str, pipeline: Pipeline, forwarding: bool
) -> None:
    """Guard every route; ``forwarding`` as in :class:`GuardedRoute`, for these routes."""
    for route in routes:
        if isinstance(route, Route):
            if isinstance(route.app, GuardedRoute):
                route.app.forwarding = forwarding
            else:
                template = prefix + route.path_format
                route.app = GuardedRoute(route.app, template, route.endpoint, pipeline, forwarding)
        elif hasattr(route, "original_router"):
            # FastAPI 0.16x include_router(): routes are rebuilt lazily from the original ones,
            # so the original endpoints are guarded before that happens.
            branch: Any = route  # fastapi.routing._IncludedRouter, private to FastAPI
            included = prefix + branch.include_context.prefix
            for inner in branch.original_router.routes:
                if hasattr(inner, "original_router"):
                    _guard_routes([inner], included, pipeline, forwarding)
                elif isinstance(inner, Route) and not getattr(inner.endpoint, _GUARDED, False):
                    template = included + inner.path_format
                    inner.endpoint = _guarded_endpoint(inner, template, pipeline)
                else:
                    pipeline.logger.warning(
                        "route_without_policies",
                        reason="not an HTTP route of an included router",
                        path=getattr(inner, "path", "?"),
                    )
        elif isinstance(route, Mount):
            inner = route.app
            routes_of = getattr(inner, "routes", None)
            if isinstance(inner, Router | Starlette) or routes_of is not None:
                # A mounted app's own middleware may hold messages back.
                plain = isinstance(inner, Router) or (
                    isinstance(inner, Starlette) and not inner.user_middleware
                )
                inner_prefix = prefix + route.path.rstrip("/")
                _guard_routes(routes_of or (), inner_prefix, pipeline, forwarding and plain)
