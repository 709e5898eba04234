"""A route's guard: bulkhead, circuit breaker, timeout and fallback around one request.

:class:`RouteGuard` runs the policy of one route key for ASGI (``run_asgi``) and WSGI
(``enter`` + :class:`Ticket`); :class:`GuardTable` finds the guard for a request, by raw path
or by a framework's route template. Guards exist per configured key or router template,
never per raw URL.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from seawall.asgi.exchange import Exchange
from seawall.clock import Clock, monotonic
from seawall.config.policies import policy_of
from seawall.config.routes import RouteTable
from seawall.config.settings import PolicySettings, Settings
from seawall.context.correlation import get_correlation_id
from seawall.context.deadline import DeadlineScope, check_deadline, remaining
from seawall.errors.exceptions import CircuitOpenError, SeawallRejection
from seawall.resilience.breaker import BreakerEvent, CircuitBreaker, Permit
from seawall.resilience.bulkhead import Bulkhead
from seawall.resilience.isolation import IsolationPool
from seawall.resilience.timeouts import Timeout
from seawall.server.stale import (
    Recording,
    RequestHeader,
    StaleStore,
    environ_header,
    scope_header,
    url_of,
)

__all__ = ["FallbackRequest", "FallbackResponse", "GuardTable", "RouteGuard", "Ticket"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FallbackRequest:
    """What a fallback callable is told: the request and why seawall did not run the handler."""

    method: str
    path: str
    route: str | None
    reason: str
    correlation_id: str | None


@dataclass(frozen=True, slots=True)
class FallbackResponse:
    """A fallback's answer; a fallback may also return ``str``, ``bytes``, a dict or a list."""

    body: bytes | str | dict[str, Any] | list[Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None

    def encode(self, reason: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, ASGI-style headers and body bytes; marks the response as a fallback."""
        media = self.media_type
        body = self.body
        if isinstance(body, dict | list):
            payload = json.dumps(body, separators=(",", ":")).encode()
            media = media or "application/json"
        elif isinstance(body, str):
            payload = body.encode()
            media = media or "text/plain; charset=utf-8"
        else:
            payload = body
            media = media or "application/octet-stream"
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()
        ]
        headers += [
            (b"content-type", media.encode("latin-1")),
            (b"content-length", str(len(payload)).encode()),
            (b"seawall-fallback", reason.encode()),
        ]
        return self.status, headers, payload


class RouteGuard:
    """The policy of one route key, ready to run requests."""

    __slots__ = (
        "_answers", "_ticket", "_timed", "breaker", "bulkhead", "fallback", "key", "logger", "pool",
        "stale", "timeout",
    )  # fmt: skip

    def __init__(
        self,
        key: str | None,
        policy: PolicySettings,
        *,
        classify: Callable[[BaseException], str] | None,
        clock: Clock | None,
        logger: Any,
    ) -> None:
        name = key or "(default)"
        self.key = key
        self.logger = logger
        self.timeout = policy.timeout
        self.fallback = policy.fallback
        self.breaker: CircuitBreaker | None = None
        self._timed = False
        self._ticket: Ticket | None = None
        if policy.breaker is not None:
            self.breaker = CircuitBreaker(
                name, policy.breaker, clock=clock, classify=classify, probe_timeout=policy.timeout
            )
            self.breaker.add_listener(self._transition)
            self._timed = policy.breaker.slow_call_duration is not None
        self.bulkhead = (
            Bulkhead(name, policy.max_concurrency, policy.max_queue, policy.max_wait, clock=clock)
            if policy.max_concurrency is not None
            else None
        )
        self.pool = (
            IsolationPool(max_workers=policy.max_concurrency or 32, name=f"seawall {name}")
            if policy.timeout is not None and policy.timeout_mode == "thread"
            else None
        )
        age = policy.stale_if_error
        self.stale = None if age is None else StaleStore(age, clock=clock)
        self._answers = self.fallback is not None or self.stale is not None  # for refused calls

    def _transition(self, event: BreakerEvent) -> None:
        self.logger.warning(
            "breaker_state_changed",
            route=event.name,
            old_state=str(event.old_state),
            new_state=str(event.new_state),
            reason=event.reason,
        )

    def _admit(self) -> Permit | None:
        breaker = self.breaker
        if breaker is None:
            return None
        permit = breaker.try_acquire()
        if permit is None:
            raise CircuitOpenError(self.key, retry_after=breaker.retry_after())
        return permit

    async def run_asgi(
        self,
        app: ASGIApp,
        scope: Message,
        receive: Any,
        send: Send,
        response: Exchange | None = None,
    ) -> None:
        """Run ``app`` under this route's bulkhead, breaker, deadline and timeout (ASGI).

        ``response`` is the exchange of a layer that sees every message ``send`` gets as soon
        as it gets it; without one the breaker wraps ``send`` to learn the status. One frame for
        every stage: no nested coroutines or context managers per request.
        """
        bulkhead = self.bulkhead
        try:
            if bulkhead is not None and not bulkhead.try_acquire():
                await bulkhead.aacquire()
            try:
                breaker = self.breaker
                permit = None
                if breaker is not None:
                    permit = breaker.try_acquire()
                    if permit is None:
                        raise CircuitOpenError(self.key, retry_after=breaker.retry_after())
                if response is None and (permit is not None or self._answers):
                    # The breaker needs the status; a fallback must know if the app answered.
                    response = Exchange(send)
                    send = response.send
                app_send = send  # the app's answers may be remembered; a fallback's never
                if self.stale is not None and scope.get("method") == "GET":
                    app_send = _StaleRecorder(self.stale, scope, send).send
                started = monotonic() if self._timed else 0.0
                seconds = self.timeout
                try:
                    if seconds is None:
                        await app(scope, receive, app_send)
                    else:
                        timer = Timeout(seconds, self.key)  # also the request's deadline
                        timer.start()
                        try:
                            await app(scope, receive, app_send)
                        except BaseException as exc:
                            timer.stop(exc)  # our own expiry raises RequestTimeoutError
                            raise
                        timer.stop(None)
                except BaseException as exc:
                    if permit is not None:
                        permit.error(exc, monotonic() - started if self._timed else None)
                    raise
                if permit is not None:
                    assert response is not None
                    duration = monotonic() - started if self._timed else None
                    if response.status:
                        permit.status(response.status, duration)
                    else:
                        permit.failure(duration)
            finally:
                if bulkhead is not None:
                    bulkhead.release()
        except SeawallRejection as rejection:
            if not (self._answers and _unstarted(response)) or not await self._fallback_asgi(
                rejection, scope, send
            ):
                raise  # once the response started only the outer layer acts: it cuts the stream

    async def _fallback_asgi(self, rejection: SeawallRejection, scope: Message, send: Send) -> bool:
        method = scope.get("method", "GET")
        encoded = self._stale_answer(
            rejection, method, _scope_url(scope), scope_header(scope.get("headers", ()))
        )
        if encoded is None:
            if self.fallback is None:
                return False
            answer = self._fallback_answer(rejection, method, scope.get("path", ""))
            if inspect.isawaitable(answer):
                answer = await answer
            encoded = self._encode(answer, rejection)
            if encoded is None:
                return False
        status, headers, body = encoded
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    def _stale_answer(
        self, rejection: SeawallRejection, method: str, url: str, header: RequestHeader
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """The route's remembered answer to this ``GET``, if it has one fresh enough."""
        stale = self.stale
        if stale is None or method != "GET":
            return None
        return stale.lookup(url, header, rejection.reason)

    def recording_wsgi(
        self, environ: dict[str, Any], headers: Iterable[tuple[str, str]]
    ) -> Recording | None:
        """A recording of a ``200`` answer to a ``GET`` on a stale-if-error route, for its
        stale store (WSGI and Django, whose headers are text); ``None`` on other routes."""
        stale = self.stale
        if stale is None or environ.get("REQUEST_METHOD") != "GET":
            return None
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return Recording(stale, _environ_url(environ), environ_header(environ), raw)

    def _fallback_answer(self, rejection: SeawallRejection, method: str, path: str) -> Any:
        assert self.fallback is not None
        request = FallbackRequest(method, path, self.key, rejection.reason, get_correlation_id())
        try:
            return self.fallback(request)
        except Exception as exc:
            self._fallback_failed(exc)
            return None

    def _encode(
        self, answer: Any, rejection: SeawallRejection
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Normalize a fallback's answer; ``None`` (or a bad answer) means: use the problem."""
        if answer is None:
            return None
        if not isinstance(answer, FallbackResponse):
            if not isinstance(answer, str | bytes | dict | list):
                self._fallback_failed(TypeError(f"fallback returned {type(answer).__name__}"))
                return None
            answer = FallbackResponse(answer)
        encoded: tuple[int, list[tuple[bytes, bytes]], bytes] = answer.encode(rejection.reason)
        return encoded

    def _fallback_failed(self, exc: BaseException) -> None:
        self.logger.error(
            "fallback_failed", route=self.key, exception=type(exc).__qualname__
        )

    def fallback_wsgi(
        self, rejection: SeawallRejection, environ: dict[str, Any]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """The answer to a rejected WSGI request: the route's remembered response (stale-if-
        error), else its fallback's, else ``None`` to send the problem."""
        method = environ.get("REQUEST_METHOD", "GET")
        url = _environ_url(environ)
        stale = self._stale_answer(rejection, method, url, environ_header(environ))
        if stale is not None or self.fallback is None:
            return stale
        answer = self._fallback_answer(rejection, method, environ.get("PATH_INFO", ""))
        if inspect.isawaitable(answer):
            close = getattr(answer, "close", None)
            if close is not None:
                close()
            self._fallback_failed(TypeError("a WSGI fallback must be a plain function"))
            return None
        return self._encode(answer, rejection)

    def enter(self) -> Ticket:
        """WSGI admission: deadline starts, bulkhead slot (waiting at most until the deadline),
        deadline check, breaker permit. Raises a :class:`SeawallRejection` when refused."""
        scope = None if self.timeout is None else self._open_deadline()
        try:
            bulkhead = self.bulkhead
            if bulkhead is not None and not bulkhead.try_acquire():
                bulkhead.acquire(remaining())
        except BaseException:
            _close(scope)
            raise
        return self._admitted(scope)

    async def aenter(self) -> Ticket:
        """:meth:`enter` for coroutines (Django async middleware): a queued wait never blocks
        the event loop. Finish the ticket in the same context."""
        scope = None if self.timeout is None else self._open_deadline()
        try:
            bulkhead = self.bulkhead
            if bulkhead is not None and not bulkhead.try_acquire():
                await bulkhead.aacquire(remaining())
        except BaseException:
            _close(scope)
            raise
        return self._admitted(scope)

    def _open_deadline(self) -> DeadlineScope:
        scope = DeadlineScope(self.timeout)
        scope.__enter__()
        return scope

    def _admitted(self, scope: DeadlineScope | None) -> Ticket:
        """With the bulkhead slot held: check the deadline, take a breaker permit."""
        try:
            if scope is not None:
                check_deadline(self.key)
            permit = self._admit()
        except BaseException:
            if self.bulkhead is not None:
                self.bulkhead.release()
            _close(scope)
            raise
        if scope is None and not self._timed:
            # Such a ticket holds nothing of its request: one is shared while the permit is.
            ticket = self._ticket
            if ticket is None or ticket._permit is not permit:
                ticket = self._ticket = Ticket(self, permit, None, 0.0)
            return ticket
        return Ticket(self, permit, scope, monotonic() if self._timed else 0.0)

    def wrap_wsgi(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """In thread mode, run the whole app call (body included) on the isolation pool."""
        pool = self.pool
        if pool is None:
            return app

        def isolated(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            captured: list[Any] = []

            def record(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                captured[:] = [status, headers]
                return _no_write

            def work() -> list[bytes]:
                body = app(environ, record)
                try:
                    return list(body)
                finally:
                    close = getattr(body, "close", None)
                    if close is not None:
                        close()

            chunks = pool.run(work, remaining(), route=self.key)
            start_response(captured[0], captured[1])
            return chunks

        return isolated


def _unstarted(response: Exchange | None) -> bool:
    return response is None or not response.status


def _scope_url(scope: Message) -> str:
    return url_of(scope.get("path", ""), scope.get("query_string", b"").decode("latin-1"))


def _environ_url(environ: dict[str, Any]) -> str:
    return url_of(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))


def _close(scope: DeadlineScope | None) -> None:
    if scope is not None:
        scope.__exit__(None, None, None)


def _no_write(data: bytes) -> None:
    raise RuntimeError("seawall thread isolation does not support the WSGI write() callable")


class Ticket:
    """An admitted WSGI request: report how it ended with :meth:`finish`, exactly once.

    Requests without a deadline or slow-call timing may share one ticket.
    """

    __slots__ = ("_permit", "_scope", "_started", "guard")

    def __init__(
        self, guard: RouteGuard, permit: Permit | None, scope: DeadlineScope | None, started: float
    ) -> None:
        self.guard = guard
        self._permit = permit
        self._scope = scope
        self._started = started

    def finish(self, status: int | None, failure: BaseException | None) -> None:
        guard = self.guard
        try:
            permit = self._permit
            if permit is not None:
                duration = monotonic() - self._started if guard._timed else None
                if failure is not None:
                    permit.error(failure, duration)
                elif status:
                    permit.status(status, duration)
                else:
                    permit.failure(duration)
        finally:
            bulkhead = guard.bulkhead
            if bulkhead is not None:
                bulkhead.release()
            if self._scope is not None:
                self._scope.__exit__(None, None, None)


class _StaleRecorder:
    """Wraps ``send`` for a ``GET`` on a stale-if-error route: records a ``200`` answer as it
    goes out, for the store, until its last body message."""

    __slots__ = ("_recording", "_scope", "_send", "_store")

    def __init__(self, store: StaleStore, scope: Message, send: Send) -> None:
        self._store = store
        self._scope = scope
        self._send = send
        self._recording: Recording | None = None

    def send(self, message: Message) -> Awaitable[None]:
        kind = message["type"]
        if kind == "http.response.start" and message["status"] == 200:
            scope = self._scope
            self._recording = Recording(
                self._store, _scope_url(scope), scope_header(scope.get("headers", ())),
                list(message.get("headers", ())),
            )  # fmt: skip
        elif kind == "http.response.body" and self._recording is not None:
            self._recording.add(message.get("body", b""))
            if not message.get("more_body", False):
                self._recording.done()
        return self._send(message)


class GuardTable:
    """Finds the guard for a request: by raw path (plain apps) or router template (adapters)."""

    def __init__(
        self,
        settings: Settings,
        *,
        classify: Callable[[BaseException], str] | None = None,
        clock: Clock | None = None,
        logger: Any,
    ) -> None:
        self._settings = settings
        self._classify = classify
        self._clock = clock
        self._logger = logger
        guards = [(key, self._make(key, policy)) for key, policy in settings.routes]
        default = self._make(None, settings.defaults)
        self._table: RouteTable[RouteGuard | None] = RouteTable(guards, default=default)
        self._by_template: dict[tuple[str, str, object], tuple[str, RouteGuard | None]] = {}
        self.empty = default is None and all(guard is None for _, guard in guards)

    def _make(self, key: str | None, policy: PolicySettings) -> RouteGuard | None:
        if policy.is_empty:
            return None
        return RouteGuard(
            key, policy, classify=self._classify, clock=self._clock, logger=self._logger
        )

    def for_path(self, method: str, path: str) -> tuple[str | None, RouteGuard | None]:
        """The guard of the most specific key matching a raw path (default: the defaults')."""
        return self._table.match_path(method, path)

    def for_template(
        self, method: str, template: str, view: object = None
    ) -> tuple[str, RouteGuard | None]:
        """The guard for a framework route: its settings key, or the template itself.

        Unmatched templates get their own guard from the defaults, and a view decorated with
        ``@seawall.policy`` its own merged policy: bounded by the router, not by traffic.
        """
        cache_key = (method, template, view)
        found = self._by_template.get(cache_key)
        if found is None:
            key, guard = self._table.match_template(method, template)
            own_key = f"{method} {template}"
            base = self._settings.defaults
            if key is not None:
                base = dict(self._settings.routes)[key]
            override = policy_of(view, base, f"@seawall.policy on {own_key}")
            if override is not None:
                key = key or own_key
                guard = self._make(key, override)
            elif key is None:
                key = own_key
                guard = self._make(key, base)
            found = (key, guard)
            self._by_template[cache_key] = found
        return found
