"""Pure ASGI middleware: correlation id, per-route policy and problem responses for any app.

Order per request: correlation id set with a token, operational endpoints
(:mod:`seawall.server.endpoints`: health, metrics, admin), route policy
(bulkhead, breaker, deadline), the app, outcome recording, problem mapping, one log event.
``lifespan`` and unknown scope types pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from time import perf_counter
from typing import Any, Final

from seawall.asgi.endpoints import answer_endpoint
from seawall.asgi.exchange import Exchange
from seawall.asgi.guard import run_guarded
from seawall.config.settings import Settings
from seawall.context.correlation import CORRELATION_ID
from seawall.errors.exceptions import InvalidCorrelationIdError
from seawall.observability.request_metrics import RouteMetrics
from seawall.server.guard import RouteGuard
from seawall.server.headers import set_header_bytes
from seawall.server.keys import EXCHANGE, GUARD, ROUTE, ROUTE_METRICS
from seawall.server.layer import bind
from seawall.server.pipeline import Pipeline

__all__ = ["ASGIMiddleware", "ProblemMiddleware", "send_problem"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Bound once: compiled code calls these directly, where ``CORRELATION_ID.set(...)`` looks the
# name up in the module and the method up on the object for every request.
_set_id: Final = CORRELATION_ID.set
_reset_id: Final = CORRELATION_ID.reset
_perf_counter: Final = perf_counter
# A C static too: an imported name is looked up in the module's dict at every use (three a
# request, about 150 instructions each).
_EXCHANGE: Final = EXCHANGE


class ASGIMiddleware:
    """Wrap any ASGI app with seawall; settings are a mapping or :class:`seawall.Settings`.

    >>> app = ASGIMiddleware(app, settings={"routes": {"GET /reports/{id}": {"timeout": 2}}})
    """

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings | Any = None,
        *,
        pipeline: Pipeline | None = None,
        policies: bool = True,
    ) -> None:
        self.app = app
        self.pipeline, self.policies = bind(settings, pipeline, policies)
        self._guards, self._correlation = self.pipeline.guards, self.pipeline.correlation
        self._endpoints = self.pipeline.endpoints
        self._name = self._correlation.response_header_bytes
        self._display = self._correlation.response_header
        # Request metrics (a seawall.observability.metrics.Metrics, or None): by the route
        # found here, or, when an adapter finds routes inside, by what it leaves in the scope.
        self._metrics: Any = self.pipeline.metrics
        self._measures: dict[str | None, RouteMetrics] = {}  # by route key, see _measure
        self._match = self.policies or (
            self._metrics is not None and policies and bool(self.pipeline.settings.routes)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The per-request function: rare work (other scope types, failures, metrics by the
        # framework's route) lives in functions of its own, so this one stays small.
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        correlation_id, invalid = self._correlation.resolve(scope["headers"])
        token = _set_id(correlation_id)
        exchange = Exchange(send, self._name, correlation_id.encode("ascii"), self._display)
        scope[_EXCHANGE] = exchange
        route: str | None = None
        guard: RouteGuard | None = None
        metrics = self._metrics
        began = 0.0  # perf_counter() at the start, when metrics are on
        try:
            path: str = scope["path"]
            first: tuple[str, ...] = self._endpoints.first  # one attribute read, then C
            if first and path.startswith(first):
                endpoint = self._endpoints.find(path)
                if endpoint is not None:  # before route policies, and not counted
                    await answer_endpoint(self._endpoints, endpoint, scope, receive, exchange.send)
                    return
            if metrics is not None:
                began = _perf_counter()
            if invalid is not None and self.pipeline.invalid_correlation_id(invalid):
                await send_problem(self.pipeline, InvalidCorrelationIdError(), scope, exchange.send)
            elif self._match:
                route, guard = self._guards.for_path(scope["method"], path)
                if began:
                    exchange.measured = measured = self._measures.get(route)
                    if measured is None:
                        exchange.measured = measured = self._measure(route)
                    measured.start()
                if guard is None or not self.policies:
                    await self.app(scope, receive, exchange.send)
                else:
                    await run_guarded(guard, self.app, scope, receive, exchange.send, exchange)
            else:
                await self.app(scope, receive, exchange.send)
        except Exception as exc:
            await self._failed(exc, scope, exchange, route, guard)
        finally:
            if began:
                self._record(scope, exchange, _perf_counter() - began)
            # The exchange holds the server's ``send``, which often holds the scope: leaving it
            # in the scope would make a reference cycle per request for the collector to find.
            if _EXCHANGE in scope:
                del scope[_EXCHANGE]
            _reset_id(token)

    async def _not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _measure(self, route: str | None) -> RouteMetrics:
        """The metrics of a route key, remembered here (keys are the settings', bounded)."""
        measured: RouteMetrics = self._metrics.for_key(route)
        self._measures[route] = measured
        return measured

    def _record(self, scope: Scope, exchange: Exchange, seconds: float) -> None:
        """Record the ended request: under the route found here or by an adapter's route layer
        (both counted it active), else under the route the framework matched."""
        measured = exchange.measured
        if measured is not None:
            measured.finish(scope["method"], exchange.status, seconds)
            return
        found = scope.get(ROUTE_METRICS) or self._metrics.for_scope(scope)
        found.observe(scope["method"], exchange.status, seconds)

    async def _failed(
        self,
        exc: Exception,
        scope: Scope,
        exchange: Exchange,
        route: str | None,
        guard: RouteGuard | None,
    ) -> None:
        # A framework's "already answered" signal ends here if no layer of its caught it:
        # the response went out, and the server must not log it as an error.
        if not self.pipeline.problems.answered(exc):
            started = exchange.status != 0
            await _failed(self.pipeline, exc, scope, exchange.send, started, route, guard)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        correlation_id, invalid = self._correlation.resolve(scope["headers"])
        token = CORRELATION_ID.set(correlation_id)
        name, display, value = self._name, self._display, correlation_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "websocket.accept":
                message["headers"] = set_header_bytes(
                    message.get("headers", ()), name, value, display
                )
            await send(message)

        try:
            if invalid is not None and self.pipeline.invalid_correlation_id(invalid):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send_with_id)
        finally:
            CORRELATION_ID.reset(token)


class ProblemMiddleware:
    """Problem mapping only, for adapters that place it inside a framework's own error layer.

    Route keys come from ``scope[ROUTE]`` when an inner layer has set it. With
    ``adjacent=True`` (nothing between it and the correlation layer but layers that forward
    every message at once), it reads the correlation layer's :class:`Exchange` instead of
    wrapping ``send``.
    """

    def __init__(self, app: ASGIApp, *, pipeline: Pipeline, adjacent: bool = False) -> None:
        self.app = app
        self.pipeline = pipeline
        self.adjacent = adjacent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # ``in`` and ``[]``: compiled, ``scope.get`` is a method looked up by name each time.
        exchange: Exchange | None = None
        if self.adjacent and _EXCHANGE in scope:
            exchange = scope[_EXCHANGE]
        inner = send
        if exchange is None:
            exchange = Exchange(send)
            inner = exchange.send
        try:
            await self.app(scope, receive, inner)
        except Exception as exc:
            if self.pipeline.problems.answered(exc):
                raise  # to the framework layer that catches it
            started = exchange.status != 0
            route, guard = scope.get(ROUTE), scope.get(GUARD)
            await _failed(self.pipeline, exc, scope, send, started, route, guard)


async def _failed(
    pipeline: Pipeline,
    exc: Exception,
    scope: Scope,
    send: Send,
    started: bool,
    route: str | None,
    guard: RouteGuard | None = None,
) -> None:
    """Answer a failure with a problem, or, once the response has started, log and abort.

    Aborting means returning without finishing the body: the server closes the connection, so
    the client sees a truncated response rather than a complete-looking one. The exception is
    never re-raised to the server, which would log it unredacted.
    """
    if started:
        pipeline.report_aborted(exc, method=scope.get("method", "-"), route=route)
        return
    await send_problem(pipeline, exc, scope, send, route=route, guard=guard)


async def send_problem(
    pipeline: Pipeline,
    exc: BaseException,
    scope: Scope,
    send: Send,
    *,
    route: str | None = None,
    guard: RouteGuard | None = None,
) -> None:
    """Log ``exc`` once and send its problem response (JSON or HTML by the Accept header), or
    the route's fallback answer when its ``fallback_on`` has ``error``."""
    accept = None
    for key, value in scope.get("headers", ()):
        if key == b"accept":
            accept = value.decode("latin-1")
            break
    method = scope.get("method", "-")
    answer = await pipeline.aproblem_response(
        exc, method=method, path=scope.get("path", ""), route=route, accept=accept, guard=guard
    )
    try:
        headers = answer.raw_headers()
    except Exception as error:  # a header no check foresaw: the fixed answer still goes out
        answer = pipeline.last_resort(exc, error, method=method, route=route)
        headers = answer.raw_headers()
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
