"""Pure ASGI middleware: correlation id, per-route policy and problem responses for any app.

Order per request (DESIGN section 1): correlation id set with a token, route policy
(bulkhead, breaker, deadline), the app, outcome recording, problem mapping, one log event.
``lifespan`` and unknown scope types pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from seawall.correlation import _correlation_id
from seawall.exceptions import InvalidCorrelationIdError
from seawall.middleware.headers import set_header_bytes
from seawall.pipeline import Pipeline
from seawall.settings import Settings

__all__ = ["ASGIMiddleware", "ProblemMiddleware", "send_problem"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
        self.pipeline = pipeline or Pipeline(settings)
        self.policies = policies and not self.pipeline.guards.empty
        correlation = self.pipeline.correlation
        self._name = correlation.response_header_bytes
        self._display = correlation.response_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        pipeline = self.pipeline
        correlation_id, invalid = pipeline.correlation.resolve(scope["headers"])
        token = _correlation_id.set(correlation_id)
        name, display, value = self._name, self._display, correlation_id.encode("ascii")
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = set_header_bytes(
                    message.get("headers", ()), name, value, display
                )
            await send(message)

        try:
            if invalid is not None and pipeline.invalid_correlation_id(invalid):
                await send_problem(pipeline, InvalidCorrelationIdError(), scope, send_with_id)
                return
            if self.policies:
                route, guard = pipeline.guards.for_path(scope["method"], scope["path"])
                try:
                    if guard is None:
                        await self.app(scope, receive, send_with_id)
                    else:
                        await guard.run_asgi(self.app, scope, receive, send_with_id)
                except Exception as exc:
                    await _failed(pipeline, exc, scope, send_with_id, started, route)
            else:
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception as exc:
                    await _failed(pipeline, exc, scope, send_with_id, started, None)
        finally:
            _correlation_id.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        correlation_id, invalid = self.pipeline.correlation.resolve(scope["headers"])
        token = _correlation_id.set(correlation_id)
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
            _correlation_id.reset(token)


class ProblemMiddleware:
    """Problem mapping only, for adapters that place it inside a framework's own error layer.

    Route keys come from ``scope["seawall.route"]`` when an inner layer has set it.
    """

    def __init__(self, app: ASGIApp, *, pipeline: Pipeline) -> None:
        self.app = app
        self.pipeline = pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            await _failed(self.pipeline, exc, scope, send, started, scope.get("seawall.route"))


async def _failed(
    pipeline: Pipeline,
    exc: Exception,
    scope: Scope,
    send: Send,
    started: bool,
    route: str | None,
) -> None:
    """Answer a failure with a problem, or, once the response has started, log and abort.

    Aborting means returning without finishing the body: the server closes the connection, so
    the client sees a truncated response rather than a complete-looking one. The exception is
    never re-raised to the server, which would log it unredacted.
    """
    if started:
        pipeline.report_aborted(exc, method=scope.get("method", "-"), route=route)
        return
    await send_problem(pipeline, exc, scope, send, route=route)


async def send_problem(
    pipeline: Pipeline, exc: BaseException, scope: Scope, send: Send, *, route: str | None = None
) -> None:
    """Log ``exc`` once and send its problem response (JSON or HTML by the Accept header)."""
    accept = None
    for key, value in scope.get("headers", ()):
        if key == b"accept":
            accept = value.decode("latin-1")
            break
    status, headers, body = pipeline.problem_response(
        exc, method=scope.get("method", "-"), path=scope.get("path", ""), route=route, accept=accept
    )
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
