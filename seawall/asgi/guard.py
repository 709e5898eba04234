"""A route's guard over ASGI: the engine's admission, a real timeout, the outcome from the
response status, and a stale or fallback answer to a refused request before its response starts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from seawall.asgi.exchange import Exchange
from seawall.clock import monotonic
from seawall.errors.exceptions import SeawallRejection
from seawall.resilience.engine import NO_ANSWER
from seawall.resilience.timeouts import Timeout
from seawall.server.guard import RouteGuard
from seawall.server.stale import Recording, RequestHeader, url_of

__all__ = ["run_guarded", "scope_header"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


async def run_guarded(
    guard: RouteGuard,
    app: ASGIApp,
    scope: Message,
    receive: Any,
    send: Send,
    response: Exchange | None = None,
) -> None:
    """Run ``app`` under the route's bulkhead, breaker, deadline and timeout.

    ``response`` is the exchange of a layer that sees every message ``send`` gets as soon as it
    gets it; without one the breaker wraps ``send`` to learn the status. One frame for every
    stage: no nested coroutines or context managers per request.
    """
    engine = guard.engine
    bulkhead = engine.bulkhead
    try:
        if bulkhead is not None and not bulkhead.try_acquire():
            engine.saturated()
            await bulkhead.aacquire()
        try:
            permit = engine.admit()
            if response is None and (permit is not None or guard.answers):
                # The breaker needs the status; a fallback must know if the app answered.
                response = Exchange(send)
                send = response.send
            app_send = send  # the app's answers may be remembered; a fallback's never
            if guard.stale is not None:
                app_send = _StaleRecorder(guard, scope, send).send
            started = monotonic() if engine.timed else 0.0
            seconds = engine.timeout
            try:
                if seconds is None:
                    await app(scope, receive, app_send)
                else:
                    timer = Timeout(seconds, guard.key)  # also the request's deadline
                    timer.start()
                    try:
                        await app(scope, receive, app_send)
                    except BaseException as exc:
                        timer.stop(exc)  # our own expiry raises RequestTimeoutError
                        raise
                    timer.stop(None)
            except BaseException as exc:
                engine.record(permit, started, None, exc)
                raise
            if permit is not None:
                engine.record(
                    permit, started, NO_ANSWER if response is None else response.status, None
                )
        finally:
            if bulkhead is not None:
                bulkhead.release()
    except SeawallRejection as rejection:
        if not (guard.answers and (response is None or not response.status)):
            raise  # once the response started only the outer layer acts: it cuts the stream
        if not await _answer_refusal(guard, rejection, scope, send):
            raise


async def _answer_refusal(
    guard: RouteGuard, rejection: SeawallRejection, scope: Message, send: Send
) -> bool:
    """Send the route's stale or fallback answer to a refused request; False if it has none.
    Its own frame keeps the request's frame small (every request pays for its size)."""
    answer = await guard.arefusal(
        rejection,
        scope.get("method", "GET"),
        scope.get("path", ""),
        scope_url(scope),
        scope_header(scope.get("headers", ())),
    )
    if answer is None:
        return False
    start = {
        "type": "http.response.start",
        "status": answer.status,
        "headers": answer.raw_headers(),
    }
    await send(start)
    await send({"type": "http.response.body", "body": answer.body})
    return True


def scope_url(scope: Message) -> str:
    """The stale store's key of an ASGI request: path and query string."""
    return url_of(scope.get("path", ""), scope.get("query_string", b"").decode("latin-1"))


def scope_header(raw: Iterable[tuple[bytes, bytes]]) -> RequestHeader:
    """Request headers of an ASGI scope by lower-case name (repeated headers joined by ``,``)."""

    def header(name: str) -> str | None:
        wanted = name.encode("latin-1")
        values = [v.decode("latin-1") for n, v in raw if n.lower() == wanted]
        return ",".join(values) if values else None

    return header


class _StaleRecorder:
    """Wraps ``send`` for a ``GET`` on a stale-if-error route: records a ``200`` answer as it
    goes out, for the store, until its last body message."""

    __slots__ = ("_guard", "_recording", "_scope", "_send")

    def __init__(self, guard: RouteGuard, scope: Message, send: Send) -> None:
        self._guard = guard
        self._scope = scope
        self._send = send
        self._recording: Recording | None = None

    def send(self, message: Message) -> Awaitable[None]:
        kind = message["type"]
        if kind == "http.response.start" and message["status"] == 200:
            scope = self._scope
            headers = [
                (n.decode("latin-1"), v.decode("latin-1")) for n, v in message.get("headers", ())
            ]
            self._recording = self._guard.recording(
                scope.get("method", "GET"),
                scope_url(scope),
                scope_header(scope.get("headers", ())),
                headers,
            )
        elif kind == "http.response.body" and self._recording is not None:
            self._recording.add(message.get("body", b""))
            if not message.get("more_body", False):
                self._recording.done()
        return self._send(message)
