"""Pure WSGI middleware: correlation id, per-route policy and problem responses for any app.

The correlation id stays set while the server iterates the body, so streamed bodies log with
it; it is reset when the body is exhausted or closed (whichever comes first), also after
errors, so a reused worker thread never keeps it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import Token
from time import perf_counter
from types import TracebackType
from typing import Any, Protocol

from seawall.config.settings import Settings
from seawall.context.correlation import CORRELATION_ID
from seawall.errors.exceptions import InvalidCorrelationIdError, SeawallRejection
from seawall.resilience.engine import NO_ANSWER, Admission
from seawall.server.guard import RouteGuard
from seawall.server.headers import set_header_str
from seawall.server.keys import HANDOVER
from seawall.server.layer import bind
from seawall.server.pipeline import Pipeline
from seawall.server.response import Rendered
from seawall.server.stale import Recording
from seawall.wsgi.endpoints import environ_request
from seawall.wsgi.guard import environ_header, environ_url, isolated_wsgi

__all__ = ["Handover", "ResponseAborted", "WSGIMiddleware"]


class Handover(Protocol):
    """What an adapter inside the app hands over to the middleware for one request, under
    ``environ[HANDOVER]``: the route's guard and the admission it took (and the failure it
    answered). The middleware finishes the admission with the final status once the body is
    sent or closed, so the adapter needs no after-response hooks of its own."""

    guard: RouteGuard | None
    admission: Admission | None
    failure: BaseException | None
    measured: Any  # the route's RouteMetrics, its active gauge raised by the adapter


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

    ``policies=False`` leaves route policies to an adapter inside the app (see :class:`Handover`).

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
        self.pipeline, self.policies = bind(settings, pipeline, policies)
        self._guards, self._correlation = self.pipeline.guards, self.pipeline.correlation
        self._endpoints = self.pipeline.endpoints
        self._handover = not policies
        self._header = self._correlation.response_header
        self._metrics: Any = self.pipeline.metrics  # request metrics, or None
        self._match = self.policies or (
            self._metrics is not None and policies and bool(self.pipeline.settings.routes)
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        correlation_id, invalid = self._correlation.resolve_environ(environ)
        token = CORRELATION_ID.set(correlation_id)
        call = _Call(self, environ, start_response, correlation_id, token)
        if self._handover:
            environ[HANDOVER] = call
        try:
            endpoints = self._endpoints
            if endpoints.first:
                path = environ.get("PATH_INFO", "")
                endpoint = endpoints.find(path) if path.startswith(endpoints.first) else None
                if endpoint is not None:  # before route policies, and not counted
                    return call.answer(
                        endpoints.answer(endpoint, environ_request(environ)), None, None
                    )
            if self._metrics is not None:
                call.started = perf_counter()
            if invalid is not None and self.pipeline.invalid_correlation_id(invalid):
                return call.problem(InvalidCorrelationIdError(), None)
            if self._match:
                route, guard = self._guards.for_path(
                    environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
                )
                if call.started:
                    call.measured = measured = self._metrics.for_key(route)
                    measured.start()
                if guard is not None and self.policies:
                    return call.guarded(guard, route)
            body = self.app(environ, call._start)
        except Exception as exc:
            return call.failed(exc)
        return call.respond(body, None)


class _Call:
    """One request: wraps ``start_response``, and is the body the server gets for any body that
    is not a finished list, keeping the id set until that body is exhausted or closed."""

    __slots__ = (
        "admission", "correlation_id", "environ", "failure", "guard", "iterable", "kept",
        "measured", "middleware", "route", "start_response", "started", "status", "token",
    )  # fmt: skip

    iterable: Iterable[bytes]  # set when the call becomes the body

    def __init__(
        self,
        middleware: WSGIMiddleware,
        environ: dict[str, Any],
        start_response: StartResponse,
        correlation_id: str,
        token: Token[str | None],
    ) -> None:
        self.middleware = middleware
        self.environ = environ
        self.start_response = start_response
        self.correlation_id = correlation_id
        self.token: Token[str | None] | None = token  # None once the request has ended
        self.route: str | None = None
        self.guard: RouteGuard | None = None
        self.admission: Admission | None = None
        self.failure: BaseException | None = None
        self.status: int | None = None
        self.kept: Recording | None = None  # the answer, for a stale-if-error route's GET
        self.measured: Any = None  # the route's RouteMetrics once known
        self.started = 0.0  # perf_counter() at the start, when metrics are on

    def _start(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], object]:
        """The app's ``start_response``: a stale-if-error route's ``200`` is recorded."""
        self.status = int(status[:3])
        guard = self.guard
        if guard is not None and guard.stale is not None and self.status == 200:
            environ = self.environ
            self.kept = guard.recording(
                environ.get("REQUEST_METHOD", "GET"),
                environ_url(environ),
                environ_header(environ),
                headers,
            )
        return self._send_start(status, headers, exc_info)

    def _send_start(
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
        self.guard = guard
        try:
            self.admission = guard.engine.enter()
            return self.run(isolated_wsgi(guard, self.middleware.app), guard)
        except SeawallRejection as rejection:
            return self.rejected(rejection, guard)

    def run(self, app: WSGIApp, guard: RouteGuard) -> Iterable[bytes]:
        try:
            body = app(self.environ, self._start)
        except SeawallRejection as rejection:
            if self.status is None:
                return self.rejected(rejection, guard)
            return self.failed(rejection)
        except Exception as exc:
            return self.failed(exc)
        return self.respond(body, None)

    def respond(self, body: Iterable[bytes], failure: BaseException | None) -> Iterable[bytes]:
        """The body for the server: a started response's list as it is (no app code runs
        while a list is sent, so the request ends now), anything else wrapped in this call."""
        if failure is not None and self.failure is None:
            self.failure = failure
        if type(body) is list and self.status is not None:
            kept = self.kept
            if kept is not None and self.failure is None:
                for chunk in body:
                    kept.add(chunk)
                kept.done()
            self.finish()
            return body
        self.iterable = body
        return self

    def rejected(self, rejection: SeawallRejection, guard: RouteGuard) -> Iterable[bytes]:
        """The route's stale or fallback answer if it has one, else the problem."""
        environ = self.environ
        answer = guard.refusal(
            rejection,
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", ""),
            environ_url(environ),
            environ_header(environ),
        )
        if answer is None:
            return self.failed(rejection)
        return self.answer(answer, rejection, None)

    def failed(self, exc: Exception) -> Iterable[bytes]:
        """Before any body byte was sent, the failure becomes a problem response."""
        return self.problem(exc, exc)

    def problem(self, exc: BaseException, failure: BaseException | None) -> Iterable[bytes]:
        answer = self.middleware.pipeline.problem_response(
            exc,
            method=self.environ.get("REQUEST_METHOD", "GET"),
            path=self.environ.get("PATH_INFO", ""),
            route=self.route,
            accept=self.environ.get("HTTP_ACCEPT"),
        )
        exc_info = sys.exc_info() if self.status is not None else None
        return self.answer(answer, failure, exc_info)

    def answer(
        self, answer: Rendered, failure: BaseException | None, exc_info: Any
    ) -> Iterable[bytes]:
        """Send seawall's own whole response (a problem, a fallback's or a stale answer)."""
        self._send_start(answer.status_line, answer.headers, exc_info)
        return self.respond([answer.body], failure)

    def __iter__(self) -> Iterator[bytes]:
        sent = aborted = False
        kept = self.kept
        try:
            for chunk in self.iterable:
                if chunk:
                    sent = True
                    if kept is not None:
                        kept.add(chunk)
                yield chunk
        except Exception as exc:
            if not sent:
                yield from self.problem(exc, exc)
            else:
                if self.failure is None:
                    self.failure = exc
                self.middleware.pipeline.report_aborted(
                    exc, method=self.environ.get("REQUEST_METHOD", "GET"), route=self.route
                )
                aborted = True
        if aborted:  # raised here, outside the handler: the server sees no exception context
            raise ResponseAborted("response aborted after it started")
        if kept is not None and self.failure is None:
            kept.done()
        # Fully sent: release the id now. Servers also call close(), but test clients often
        # never do, and the id must not outlive its request in the caller's thread.
        self.finish()

    def _observe(self) -> None:
        """Record the finished request under its route's label (``(unmatched)`` without one)."""
        seconds = perf_counter() - self.started
        method = self.environ.get("REQUEST_METHOD", "GET")
        measured = self.measured
        if measured is None:
            self.middleware._metrics.unmatched.observe(method, self.status or 0, seconds)
        else:
            measured.finish(method, self.status or 0, seconds)

    def close(self) -> None:
        try:
            close = getattr(self.iterable, "close", None)
            if close is not None:
                close()
        finally:
            if self.token is not None:
                self.finish()

    def finish(self) -> None:
        """End the request once: finish its admission with the final status, release the id."""
        token = self.token
        if token is None:
            return
        self.token = None
        try:
            if self.started:
                self._observe()
            if self.admission is not None:
                self.admission.finish(self.status or NO_ANSWER, self.failure)
        finally:
            # The failure's traceback holds frames that hold this call: let refcounting free them.
            self.failure = None
            CORRELATION_ID.reset(token)
            if self.middleware._handover:
                # environ and this call refer to each other: let refcounting free them.
                self.environ.pop(HANDOVER, None)
