"""``SeawallMiddleware``: seawall for Django, first in ``MIDDLEWARE``, under WSGI and ASGI.

Django converts every exception into a response inside its handler chain, so no outer WSGI or
ASGI wrapper ever sees one. The middleware hooks the chain itself: the
correlation id around the whole request, the route's guard in ``process_view`` (route template
from ``resolver_match.route``), ``process_exception`` for view errors, and a response phase
that turns Django's own error pages into problem responses for API clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings as django_settings
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve

from seawall.config.schema import SettingsError
from seawall.context.correlation import CORRELATION_ID
from seawall.context.deadline import remaining
from seawall.errors.exceptions import (
    InvalidCorrelationIdError,
    RequestTimeoutError,
    SeawallRejection,
)
from seawall.errors.render import negotiate
from seawall.integrations.async_views import warn_unenforced
from seawall.integrations.django.access_log import ANSWERED
from seawall.integrations.django.answers import problem_response, to_response
from seawall.integrations.django.checks import refuse_to_start
from seawall.integrations.django.conf import get_runtime
from seawall.integrations.django.debug import technical_404
from seawall.integrations.django.state import STATE, RequestState
from seawall.integrations.django.urls import url_patterns
from seawall.resilience.timeouts import Timeout
from seawall.server.endpoints import Endpoint, EndpointRequest
from seawall.server.guard import RouteGuard
from seawall.server.headers import merge_expose
from seawall.wsgi.endpoints import environ_request
from seawall.wsgi.guard import environ_header, environ_url

__all__ = ["SeawallMiddleware"]

ERROR_PAGES = frozenset({400, 403, 404, 500})
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-language"})
_EXPOSE = "Access-Control-Expose-Headers"

GetResponse = Callable[[HttpRequest], Any]


class SeawallMiddleware:
    """Correlation id, per-route guard and problem responses for a Django project.

    >>> MIDDLEWARE = ["seawall.integrations.django.SeawallMiddleware", ...]  # first
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        try:
            runtime = get_runtime()
        except SettingsError as exc:
            refuse_to_start(exc)  # the WSGI/ASGI handler is being built: a server starts
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
            # Django awaits an async process_view directly instead of hopping to a thread.
            self.process_view = self._aprocess_view  # type: ignore[method-assign]
        else:
            # A sync chain is WSGI (or a sync test client): say which timeouts do nothing.
            views = [(route, None, view) for route, view in url_patterns() if _is_async(view)]
            warn_unenforced(runtime.pipeline, views)

    # -- the request ---------------------------------------------------------------------------

    def _begin(self, request: HttpRequest) -> tuple[RequestState, str, Token[str | None], str]:
        """The set-up both twins share: the id resolved and set, the request's state attached.
        The last item is the invalid id's hint, or ``""``."""
        runtime = get_runtime()
        correlation_id, invalid = runtime.pipeline.correlation.resolve_environ(request.META)
        token = CORRELATION_ID.set(correlation_id)
        ANSWERED.set(correlation_id)  # for the server's access line, written after we return
        state = RequestState(runtime, request.method or "GET")
        setattr(request, STATE, state)
        return state, correlation_id, token, invalid or ""

    @staticmethod
    def _endpoint(
        request: HttpRequest, state: RequestState
    ) -> tuple[Endpoint, EndpointRequest] | None:
        """The operational endpoint (health, metrics, admin) this request asks for, if any."""
        endpoints = state.runtime.pipeline.endpoints
        path = request.path_info
        if not endpoints.first or not path.startswith(endpoints.first):
            return None
        endpoint = endpoints.find(path)
        if endpoint is None:
            return None
        return endpoint, environ_request({**request.META, "PATH_INFO": path}, request.body)

    @staticmethod
    def _refused(request: HttpRequest, state: RequestState, invalid: str) -> HttpResponse | None:
        """The 400 problem for an invalid incoming id, when the settings reject those."""
        pipeline = state.runtime.pipeline
        if invalid and pipeline.invalid_correlation_id(invalid):
            return problem_response(pipeline, request, InvalidCorrelationIdError(), None)
        return None

    @staticmethod
    def _end(state: RequestState, token: Token[str | None]) -> None:
        try:
            state.finish(None)
        finally:
            CORRELATION_ID.reset(token)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        state, correlation_id, token, invalid = self._begin(request)
        runtime = state.runtime
        closing_later = False
        try:
            found = self._endpoint(request, state)
            if found is not None:  # before route policies, and not counted
                try:
                    answered = to_response(runtime.pipeline.endpoints.answer(*found))
                except Exception as exc:
                    answered = problem_response(runtime.pipeline, request, exc, None)
                _set_header(answered, runtime.header, correlation_id)
                return answered
            state.begin_metrics()
            response: HttpResponseBase | None = self._refused(request, state, invalid)
            if response is None:
                state.active = True
                try:
                    if runtime.isolating:
                        response = self._maybe_isolated(request, state)
                    else:
                        response = self.get_response(request)
                finally:
                    state.active = False
                response = self.process_response(request, response)
            _set_header(response, runtime.header, correlation_id)
            if response.streaming:
                # The body is iterated (and logs) after we return: clean up when it is closed.
                if not response.is_async and getattr(response, "file_to_stream", None) is None:
                    # (a file keeps its wsgi.file_wrapper path)
                    response.streaming_content = _reported(response.streaming_content, state)
                response._resource_closers.append(_Closer(state, token, response.status_code))
                closing_later = True
            else:
                state.finish(response.status_code)
            return response
        finally:
            if not closing_later:
                self._end(state, token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        state, correlation_id, token, invalid = self._begin(request)
        runtime = state.runtime
        closing_later = False
        try:
            found = self._endpoint(request, state)
            if found is not None:  # before route policies, and not counted
                try:
                    answered = to_response(await runtime.pipeline.endpoints.aanswer(*found))
                except Exception as exc:
                    answered = problem_response(runtime.pipeline, request, exc, None)
                _set_header(answered, runtime.header, correlation_id)
                return answered
            state.begin_metrics()
            response: HttpResponseBase | None = self._refused(request, state, invalid)
            if response is None:
                state.active = True
                try:
                    response = await self.get_response(request)
                except asyncio.CancelledError as cancelled:
                    response = await self._cancelled(request, state, cancelled)
                finally:
                    state.active = False
                timer = state.timer
                if timer is not None:
                    state.timer = None
                    await timer.__aexit__(None, None, None)
                response = self.process_response(request, response)
            _set_header(response, runtime.header, correlation_id)
            state.finish(response.status_code)
            if response.streaming:
                content = response.streaming_content
                if not response.is_async:
                    # Django would drain a plain generator in a thread after we reset the
                    # id: pull its chunks in threads that copy this context, id included.
                    content = _pulled_in_threads(content)
                response.streaming_content = _reset_after(content, token, state)
                closing_later = True
            return response
        finally:
            if not closing_later:
                self._end(state, token)

    async def _cancelled(
        self, request: HttpRequest, state: RequestState, cancelled: asyncio.CancelledError
    ) -> HttpResponseBase:
        """Our own timeout becomes a 504 problem; any other cancellation propagates."""
        timer = state.timer
        if timer is None:
            raise cancelled
        state.timer = None
        try:
            await timer.__aexit__(type(cancelled), cancelled, cancelled.__traceback__)
        except RequestTimeoutError as exc:
            state.failure = exc
            return self._rejected(request, state, exc)
        state.failure = cancelled  # the client went away: the breaker ignores it
        raise cancelled

    def _maybe_isolated(self, request: HttpRequest, state: RequestState) -> HttpResponseBase:
        """Routes in thread mode run the rest of the chain on their isolation pool."""
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return self.get_response(request)
        pipeline = state.runtime.pipeline
        key, guard = pipeline.guards.for_template(request.method or "GET", match.route, match.func)
        state.routed(match.route)
        pool = None if guard is None else guard.engine.pool
        if guard is None or pool is None:
            return self.get_response(request)
        state.route, state.guard = key, guard
        try:
            state.admission = guard.engine.enter()
            return pool.run(lambda: self._isolated(request), remaining(), route=key)
        except SeawallRejection as rejection:
            state.failure = rejection
            return self._rejected(request, state, rejection)

    def _isolated(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return self.get_response(request)
        finally:
            connections.close_all()  # the pool's threads outlive requests; their connections not

    # -- Django's hooks ------------------------------------------------------------------------

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponseBase | None:
        """Find the route's guard by template and enter it; a rejection answers at once."""
        found = self._unentered(request, view_func)
        if found is None:
            return None
        state, guard = found
        try:
            state.admission = guard.engine.enter()
        except SeawallRejection as rejection:
            return self._rejected(request, state, rejection)
        return None

    async def _aprocess_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponseBase | None:
        found = self._unentered(request, view_func)
        if found is None:
            return None
        state, guard = found
        try:
            state.admission = await guard.engine.aenter()
        except SeawallRejection as rejection:
            return self._rejected(request, state, rejection)
        seconds = guard.engine.timeout
        if seconds is not None:
            # Entered here, left in __acall__ (same task): cancels the view for real.
            timer = Timeout(seconds, state.route)
            await timer.__aenter__()
            state.timer = timer
        return None

    def _unentered(
        self, request: HttpRequest, view_func: Callable[..., Any]
    ) -> tuple[RequestState, RouteGuard] | None:
        """The request's state and route guard, unless there is none or it was entered already."""
        state: RequestState | None = getattr(request, STATE, None)
        if state is None or state.guard is not None:
            return None
        guard = self._route(request, state, view_func)
        return None if guard is None else (state, guard)

    def _route(
        self, request: HttpRequest, state: RequestState, view_func: Callable[..., Any]
    ) -> RouteGuard | None:
        match = request.resolver_match
        if match is None:
            return None
        pipeline = state.runtime.pipeline
        key, guard = pipeline.guards.for_template(request.method or "GET", match.route, view_func)
        state.route, state.guard = key, guard
        state.routed(match.route)
        return guard

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        """A view's exception becomes a problem response and one sanitized log event."""
        state: RequestState | None = getattr(request, STATE, None)
        if state is None:
            return None
        state.failure = exception
        pipeline = state.runtime.pipeline
        accept = request.META.get("HTTP_ACCEPT")
        if django_settings.DEBUG and negotiate(accept, pipeline.settings.errors.format) == "html":
            if isinstance(exception, Http404):  # Django's 404 page shows the reason as it is
                return technical_404(request, exception)
            return None  # a developer's browser gets Django's debug page, logged once below
        return problem_response(pipeline, request, exception, state.route, state.guard)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """Django's own error pages become problems for API clients; browsers keep the page;
        a stale-if-error route remembers its good ``GET`` answers."""
        if getattr(response, "_seawall_problem", False):
            return response
        status = response.status_code
        if status < 400:
            if status == 200:
                _remember(request, response)
            return response
        state: RequestState | None = getattr(request, STATE, None)
        if state is None or not _made_by_django(request, response, state):
            return response
        pipeline = state.runtime.pipeline
        exc = state.django_exc
        if exc is not None and state.failure is None:
            state.failure = exc
        accept = request.META.get("HTTP_ACCEPT")
        keep_page = negotiate(accept, pipeline.settings.errors.format) == "html"
        method = request.method or "GET"
        if exc is not None and (
            response.status_code >= 500 or pipeline.problems.spec_for(type(exc)) is not None
        ):
            problem = pipeline.problem(exc, method=method, path=request.path, route=state.route)
        else:
            problem = pipeline.problems.problem_for_status(
                response.status_code,
                correlation_id=CORRELATION_ID.get(),
                instance=request.path,
            )
        if keep_page:
            return response
        return _keeping_headers(to_response(pipeline.render(problem, accept)), response)

    def _rejected(
        self, request: HttpRequest, state: RequestState, rejection: SeawallRejection
    ) -> HttpResponseBase:
        """The route's stale or fallback answer if it has one, else the problem."""
        guard = state.guard
        if guard is not None:
            meta = request.META
            answer = guard.refusal(
                rejection, request.method or "GET", request.path_info, environ_url(meta),
                environ_header(meta),
            )  # fmt: skip
            if answer is not None:
                return to_response(answer)
        return problem_response(state.runtime.pipeline, request, rejection, state.route)


def _remember(request: HttpRequest, response: HttpResponseBase) -> None:
    """On a stale-if-error route, offer a finished, unstreamed answer with the headers it goes
    out with, cookies included."""
    state: RequestState | None = getattr(request, STATE, None)
    guard = None if state is None else state.guard
    if guard is None or guard.stale is None or not isinstance(response, HttpResponse):
        return
    cookies = [("Set-Cookie", c.output(header="").strip()) for c in response.cookies.values()]
    meta = request.META
    recording = guard.recording(
        request.method or "GET", environ_url(meta), environ_header(meta),
        [*response.items(), *cookies],
    )  # fmt: skip
    if recording is not None:
        recording.add(response.content)
        recording.done()


def _keeping_headers(problem: HttpResponse, page: HttpResponseBase) -> HttpResponse:
    """The problem that replaces Django's page, with the page's headers (``Allow`` of
    ``HttpResponseNotAllowed``, ``WWW-Authenticate``, ``Retry-After``, what middleware added)
    and cookies; only the headers of the page's own body are the problem's."""
    headers = problem.headers
    for name, value in page.items():
        if name.lower() not in _BODY_HEADERS and name not in headers:
            headers[name] = value
    for name, cookie in page.cookies.items():
        problem.cookies[name] = cookie
    return problem


def _is_async(view: object) -> bool:
    """An ``async def`` view function or an async class-based view."""
    return view is not None and iscoroutinefunction(view)


def _made_by_django(request: HttpRequest, response: HttpResponseBase, state: RequestState) -> bool:
    """An error response that Django (not the app's view) produced."""
    if state.django_exc is not None or state.django_logged:
        return True
    return (
        request.resolver_match is None
        and response.status_code in ERROR_PAGES
        and response.get("Content-Type", "").startswith("text/html")
    )


def _set_header(response: HttpResponseBase, name: str, value: str) -> None:
    """Set or replace the correlation header; merge it into an existing expose list."""
    headers = response.headers
    headers[name] = value
    expose = headers.get(_EXPOSE)
    if expose is not None:
        headers[_EXPOSE] = merge_expose(expose, name)


class _Closer:
    """Run when Django closes a streamed response (same thread, WSGI): finish and reset."""

    __slots__ = ("state", "status", "token")

    def __init__(self, state: RequestState, token: Token[str | None], status: int) -> None:
        self.state = state
        self.token = token
        self.status = status

    def __call__(self) -> None:
        try:
            self.state.finish(self.status)
        finally:
            with contextlib.suppress(ValueError):  # closed from another context, which ends
                CORRELATION_ID.reset(self.token)


async def _pulled_in_threads(content: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A plain iterator's chunks, each taken in a thread (the thread Django runs sync code in)
    with a copy of this context, so the generator logs with the request's id."""

    def take() -> bytes | None:
        return next(content, None)

    pull = sync_to_async(take, thread_sensitive=True)
    while (chunk := await pull()) is not None:
        yield chunk


def _reported(content: Iterator[bytes], state: RequestState) -> Iterator[bytes]:
    """Stream ``content``; a failure after the response started is reported (with the id,
    still set) as ``response_aborted`` before the server sees it."""
    try:
        yield from content
    except Exception as exc:
        state.runtime.pipeline.report_aborted(exc, method=state.method, route=state.route)
        raise


async def _reset_after(
    content: AsyncIterator[bytes], token: Token[str | None], state: RequestState
) -> AsyncIterator[bytes]:
    """Stream ``content`` with the correlation id still set; reset it when the stream ends.
    A failure after the response started is reported as ``response_aborted`` first."""
    try:
        async for chunk in content:
            yield chunk
    except Exception as exc:
        state.runtime.pipeline.report_aborted(exc, method=state.method, route=state.route)
        raise
    finally:
        with contextlib.suppress(ValueError):  # finalized outside the request's task
            CORRELATION_ID.reset(token)
