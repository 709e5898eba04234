"""Seawall for Starlette apps: ``install(app, settings)``.

Starlette answers unhandled exceptions in ``ServerErrorMiddleware`` before any outer wrapper
sees them, and handles ``HTTPException`` inside. So seawall hooks in three places: correlation
outermost (around the built middleware stack, so 500s carry the id), problem mapping as user
middleware (inside ``ServerErrorMiddleware``), and a problem handler for ``HTTPException``.
Route policies wrap each route's app, keyed by the router's template (mount prefixes included).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Host, Mount, Route, Router, compile_path

from seawall.asgi.exchange import Exchange
from seawall.asgi.guard import run_guarded
from seawall.asgi.middleware import ASGIMiddleware, ProblemMiddleware
from seawall.config.settings import Settings
from seawall.config.sources import framework_settings
from seawall.integrations.route_keys import Template, warn_unmatched
from seawall.observability.request_metrics import RouteMetrics
from seawall.server.guard import RouteGuard
from seawall.server.keys import EXCHANGE, GUARD, ROUTE, ROUTE_METRICS
from seawall.server.pipeline import Pipeline

__all__ = ["GuardedRoute", "IncludedRoute", "handle_problems", "install", "problem_handler"]

_INSTALLED = "_seawall_pipeline"
_HANDLED = "_seawall_handled"
"""App state attribute: the exception classes seawall's problem handler answers there."""
_METHODS_REMEMBERED = 16


def install(app: Starlette, settings: Settings | Any = None) -> Pipeline:
    """Add seawall to a Starlette (or FastAPI) app; settings errors raise at once.

    >>> install(app, {"routes": {"GET /reports/{id}": {"timeout": 2}}})
    """
    if getattr(app.state, _INSTALLED, None) is not None:
        raise RuntimeError("seawall is already installed on this app")
    pipeline = Pipeline(framework_settings(settings, debug=app.debug))
    setattr(app.state, _INSTALLED, pipeline)
    handle_problems(app, HTTPException, problem_handler(pipeline))
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
        handlers = {kind: app.exception_handlers[kind] for kind in getattr(app.state, _HANDLED)}
        guarding = _Guarding(pipeline, handlers)
        guarding.routes(app.router.routes, "", adjacent and len(app.user_middleware) == 1)
        warn_unmatched(pipeline, guarding.templates)
        return ASGIMiddleware(build(), pipeline=pipeline, policies=False)

    app.build_middleware_stack = build_with_seawall  # type: ignore[method-assign]
    return pipeline


def handle_problems(app: Starlette, kind: type[Exception], handler: Any) -> None:
    """Register seawall's problem ``handler`` for ``kind``, remembered for mounted apps."""
    app.add_exception_handler(kind, handler)
    handled: list[type[Exception]] = getattr(app.state, _HANDLED, None) or []
    setattr(app.state, _HANDLED, [*handled, kind])


def problem_handler(pipeline: Pipeline) -> Callable[[Request, Exception], Any]:
    """An exception handler that answers with the problem of the exception (and logs it once)."""

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code < 400:
            return _not_an_error(exc)  # a redirect raised as HTTPException(307, headers=...)
        answer = await pipeline.aproblem_response(
            exc,
            method=request.method,
            path=request.url.path,
            route=request.scope.get(ROUTE),
            accept=request.headers.get("accept"),
            guard=request.scope.get(GUARD),
        )
        response = Response(answer.body, status_code=answer.status)
        response.raw_headers = answer.raw_headers()
        return response

    return handle


def _not_an_error(exc: HTTPException) -> Response:
    """Starlette's own answer to an ``HTTPException`` below 400 (no body for 204 and 304):
    not a failure, so no problem, no ``request_failed``, a success for the breaker."""
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


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
        self.measured: RouteMetrics | None = None if metrics is None else metrics.route(template)

    def __call__(self, scope: Any, receive: Any, send: Any) -> Awaitable[None]:
        # A plain function returning the awaitable of the layer inside, not a coroutine of
        # its own: the caller's ``await`` is the same, one coroutine less per request.
        # ``in`` and ``[]`` rather than ``scope.get``: compiled, a method call looks the name
        # up on every request.
        method = scope["method"] if "method" in scope else "GET"  # noqa: SIM401
        found = self._by_method.get(method)
        if found is None:
            found = self.guards.for_template(method, self.template, self.view)
            if len(self._by_method) < _METHODS_REMEMBERED:  # a route may accept any method
                self._by_method[method] = found
        key, guard = found
        scope[ROUTE] = key
        scope[GUARD] = guard
        exchange: Exchange | None = scope[EXCHANGE] if EXCHANGE in scope else None  # noqa: SIM401
        measured = self.measured
        if measured is not None:
            if exchange is None or exchange.measured is not None:
                return self._measured(measured, guard, scope, receive, send, exchange)
            # Counted active now; the correlation layer records the request when it ends.
            exchange.measured = measured
            measured.start()
        if guard is None:
            return self.app(scope, receive, send)  # type: ignore[no-any-return]
        return run_guarded(
            guard, self.app, scope, receive, send, exchange if self.forwarding else None
        )

    async def _measured(
        self,
        measured: RouteMetrics,
        guard: RouteGuard | None,
        scope: Any,
        receive: Any,
        send: Any,
        exchange: Exchange | None,
    ) -> None:
        """Without the correlation layer's exchange (a layer between made a scope of its own):
        count the route active here, and leave its metrics in the scope for the outer layer."""
        scope[ROUTE_METRICS] = measured
        measured.start()
        try:
            if guard is None:
                await self.app(scope, receive, send)
            else:
                await run_guarded(
                    guard, self.app, scope, receive, send, exchange if self.forwarding else None
                )
        finally:
            measured.end()


class IncludedRoute:
    """The ``handle`` of a route of an included FastAPI router, run under the guard of its
    full template. FastAPI rebuilds such routes internally (0.16x) and calls the original
    route's ``handle``, so that is where the route is known; a router included twice has one
    template per inclusion, told apart by the request's path."""

    def __init__(self, handle: Any, route: Route) -> None:
        self.handle = handle
        self.methods = route.methods
        self.by_template: dict[str, tuple[re.Pattern[str], GuardedRoute]] = {}

    def add(self, template: str, guarded: GuardedRoute) -> None:
        if template in self.by_template:
            self.by_template[template][1].forwarding = guarded.forwarding
        else:
            self.by_template[template] = (compile_path(template)[0], guarded)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.methods and scope.get("method") not in self.methods:
            await self.handle(scope, receive, send)  # the framework's own 405
            return
        found = iter(self.by_template.values())
        first = guarded = next(found)[1]
        if len(self.by_template) > 1:
            path = scope.get("path", "")
            matching = (g for regex, g in self.by_template.values() if regex.match(path))
            guarded = next(matching, first)
        await guarded(scope, receive, send)


def _guard_included(route: Route, template: str, pipeline: Pipeline, forwarding: bool) -> None:
    """Guard a route of an included router by its full ``template`` (see :class:`IncludedRoute`)."""
    included = route.__dict__.get("handle")
    if not isinstance(included, IncludedRoute):
        included = IncludedRoute(route.handle, route)
        route.handle = included  # type: ignore[method-assign]
    guarded = GuardedRoute(included.handle, template, route.endpoint, pipeline, forwarding)
    included.add(template, guarded)


class _Guarding:
    """Guards every route of an app when its middleware stack is built, and gives mounted
    applications seawall's problem mapping (they answer their own errors inside our layers)."""

    def __init__(self, pipeline: Pipeline, handlers: dict[Any, Any]) -> None:
        self.pipeline = pipeline
        self.handlers = handlers
        self.templates: list[Template] = []  # every route's full template, with its methods

    def routes(self, routes: Iterable[BaseRoute], prefix: str, forwarding: bool) -> None:
        """Guard ``routes``; ``forwarding`` as in :class:`GuardedRoute`, for these routes."""
        pipeline = self.pipeline
        for route in routes:
            if isinstance(route, Route):
                self.templates.append((prefix + route.path_format, route.methods))
                if isinstance(route.app, GuardedRoute):
                    route.app.forwarding = forwarding
                else:
                    template = prefix + route.path_format
                    route.app = GuardedRoute(
                        route.app, template, route.endpoint, pipeline, forwarding
                    )
            elif hasattr(route, "original_router"):
                # FastAPI 0.16x include_router(): routes are rebuilt lazily from the original
                # ones, whose handle() FastAPI calls with the request.
                branch: Any = route  # fastapi.routing._IncludedRouter, private to FastAPI
                included = prefix + branch.include_context.prefix
                for inner in branch.original_router.routes:
                    if hasattr(inner, "original_router"):
                        self.routes([inner], included, forwarding)
                    elif isinstance(inner, Route):
                        template = included + inner.path_format
                        self.templates.append((template, inner.methods))
                        _guard_included(inner, template, pipeline, forwarding)
                    else:
                        pipeline.logger.warning(
                            "route_without_policies",
                            reason="not an HTTP route of an included router",
                            path=getattr(inner, "path", "?"),
                        )
            elif isinstance(route, Mount | Host):  # a Host adds no path prefix
                inner = route.app
                routes_of = getattr(inner, "routes", None)
                if isinstance(inner, Router | Starlette) or routes_of is not None:
                    # A mounted app's own middleware may hold messages back.
                    plain = isinstance(inner, Router) or (
                        isinstance(inner, Starlette) and not inner.user_middleware
                    )
                    if isinstance(inner, Starlette):
                        self.adopt(inner)
                    inner_prefix = prefix + _mount_path(route)
                    self.routes(routes_of or (), inner_prefix, forwarding and plain)
                else:
                    self.templates.append((prefix + _mount_path(route) + "/*", None))

    def adopt(self, app: Starlette) -> None:
        """Give a mounted application (not built yet, without seawall of its own) problem
        mapping inside its error layer and seawall's handlers where it has the framework's."""
        if app.middleware_stack is not None or getattr(app.state, _INSTALLED, None) is not None:
            return
        setattr(app.state, _INSTALLED, self.pipeline)
        for kind, handler in self.handlers.items():
            current = app.exception_handlers.get(kind)
            if current is None or _framework_default(current):
                app.add_exception_handler(kind, handler)
        app.user_middleware.insert(0, Middleware(ProblemMiddleware, pipeline=self.pipeline))


def _mount_path(route: Mount | Host) -> str:
    """The path prefix a mount adds to its routes' templates (none for a host)."""
    return route.path.rstrip("/") if isinstance(route, Mount) else ""


def _framework_default(handler: object) -> bool:
    """A handler Starlette or FastAPI registered themselves (the app's own ones win)."""
    module = getattr(handler, "__module__", None) or ""
    return module.split(".")[0] in ("starlette", "fastapi")
