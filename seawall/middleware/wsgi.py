"""Pure WSGI middleware: correlation id, per-route policy and problem responses for any app.

The correlation id stays set while the server iterates the body, so streamed bodies log with
it; it is reset when the body is exhausted or closed (whichever comes first), also after
errors, so a reused worker thread never keeps it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Protocol

from seawall.correlation import _correlation_id
from seawall.exceptions import InvalidCorrelationIdError, SeawallRejection
from seawall.guard import RouteGuard, Ticket
from seawall.middleware.headers import set_header_str
from seawall.pipeline import Pipeline
from seawall.settings import Settings

__all__ = ["HANDOVER", "ResponseAborted", "WSGIMiddleware"]

HANDOVER = "seawall.handover"
"""Environ key where a framework adapter leaves the route ticket it took inside the app.

The middleware finishes it with the final status once the body is sent or closed, so the
adapter needs no after-response hooks of its own.
"""


class _Handover(Protocol):
    ticket: Ticket | None
    failure: BaseException | None

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ResponseAborted(Exception):
    """Raised to the server to cut a response that failed after it started.

    It carries only the error id: the original exception was logged redacted and is not
    chained, so a server that logs this shows nothing sensitive.
    """


class WSGIMiddleware:
    """Wrap any WSGI app with seawall; settings are a mapping or :class:`seawall.Settings`.

    >>> app.wsgi_app = WSGIMiddleware(app.wsgi_app, settings={"defaults": {"timeout": 5}})
    """

    def __init__(
        self,
        app: WSGIApp,
        settings: Settings | Any = None,
        *,
        pipeline: Pipeline | None = None,
        policies: bool = True,
    ) -> None:
        self.app = app
        self.pipeline = pipeline or Pipeline(settings)
        self.policies = policies and not self.pipeline.guards.empty
        self._header = self.pipeline.correlation.response_header

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        pipeline = self.pipeline
        correlation_id, invalid = pipeline.correlation.resolve_environ(environ)
        token = _correlation_id.set(correlation_id)
        environ["seawall.correlation_id"] = correlation_id
        call = _Call(self, environ, start_response, correlation_id, token)
        try:
            if invalid is not None and pipeline.invalid_correlation_id(invalid):
                return call.problem(InvalidCorrelationIdError(), None)
            if self.policies:
                route, guard = pipeline.guards.for_path(
                    environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
                )
                if guard is not None:
                    return call.guarded(guard, route)
            return call.run(self.app)
        except Exception as exc:
            return call.failed(exc)


class _Call:
    """One request: wraps ``start_response`` and the body, and cleans up on ``close()``."""

    __slots__ = (
        "closed", "correlation_id", "environ", "middleware", "route", "sent", "start_response",
        "status", "ticket", "token",
    )  # fmt: skip

    def __init__(
        self,
        middleware: WSGIMiddleware,
        environ: dict[str, Any],
        start_response: StartResponse,
        correlation_id: str,
        token: Any,
    ) -> None:
        self.middleware = middleware
        self.environ = environ
        self.start_response = start_response
        self.correlation_id = correlation_id
        self.token = token
        self.route: str | None = None
        self.ticket: Ticket | None = None
        self.status: int | None = None
        self.sent = False
        self.closed = False

    def _start(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], object]:
        self.status = int(status[:3])
        headers = set_header_str(headers, self.middleware._header, self.correlation_id)
        if exc_info is None:
            return self.start_response(status, headers)
        return self.start_response(status, headers, exc_info)

    def guarded(self, guard: RouteGuard, route: str | None) -> Iterable[bytes]:
        """Admit through the route's guard, run the app, and answer rejections."""
        self.route = route
        try:
            self.ticket = guard.enter()
            return self.run(guard.wrap_wsgi(self.middleware.app), guard)
        except SeawallRejection as rejection:
            return self.rejected(rejection, guard)

    def run(self, app: WSGIApp, guard: RouteGuard | None = None) -> Iterable[bytes]:
        try:
            body = app(self.environ, self._start)
        except SeawallRejection as rejection:
            if guard is not None and self.status is None:
                return self.rejected(rejection, guard)
            return self.failed(rejection)
        except Exception as exc:
            return self.failed(exc)
        return _Body(self, body)

    def rejected(self, rejection: SeawallRejection, guard: RouteGuard) -> Iterable[bytes]:
        """A fallback's response if the route has one that works, else the problem."""
        answer = guard.fallback_wsgi(rejection, self.environ)
        if answer is None:
            return self.failed(rejection)
        status, headers, body = answer
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        self._start(f"{status} {_reason(status)}", pairs)
        return _Body(self, [body], failure=rejection)

    def failed(self, exc: Exception) -> Iterable[bytes]:
        """Before any body byte was sent, the failure becomes a problem response."""
        return self.problem(exc, exc)

    def problem(self, exc: BaseException, failure: BaseException | None) -> Iterable[bytes]:
        pipeline = self.middleware.pipeline
        status, headers, body = pipeline.problem_response(
            exc,
            method=self.environ.get("REQUEST_METHOD", "GET"),
            path=self.environ.get("PATH_INFO", ""),
            route=self.route,
            accept=self.environ.get("HTTP_ACCEPT"),
        )
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        reason = _reason(status)
        exc_info = sys.exc_info() if self.status is not None else None
        self.status = status
        self._start(f"{status} {reason}", pairs, exc_info)  # type: ignore[arg-type]
        return _Body(self, [body], failure=failure)

    def finish(self, failure: BaseException | None) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            # An adapter that admitted the request inside the app hands its ticket over here.
            handed: _Handover | None = self.environ.get(HANDOVER)
            if handed is not None and handed.ticket is not None:
                handed.ticket.finish(self.status, handed.failure or failure)
            if self.ticket is not None:
                self.ticket.finish(self.status, failure)
        finally:
            _correlation_id.reset(self.token)


class _Body:
    """The app's body iterable, with the correlation id kept until the server closes it."""

    __slots__ = ("call", "failure", "iterable")

    def __init__(
        self, call: _Call, iterable: Iterable[bytes], failure: BaseException | None = None
    ) -> None:
        self.call = call
        self.iterable = iterable
        self.failure = failure

    def __iter__(self) -> Iterator[bytes]:
        call = self.call
        try:
            for chunk in self.iterable:
                if chunk:
                    call.sent = True
                yield chunk
        except Exception as exc:
            self.failure = exc
            if call.sent:
                pipeline = call.middleware.pipeline
                pipeline.report_aborted(
                    exc, method=call.environ.get("REQUEST_METHOD", "GET"), route=call.route
                )
                raise ResponseAborted("response aborted after it started") from None
            yield from call.problem(exc, exc).iterable  # type: ignore[attr-defined]
        # Fully sent: release the id now. Servers also call close(), but test clients often
        # never do, and the id must not outlive its request in the caller's thread.
        call.finish(self.failure)

    def close(self) -> None:
        try:
            close = getattr(self.iterable, "close", None)
            if close is not None:
                close()
        finally:
            self.call.finish(self.failure)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
