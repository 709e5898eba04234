"""httpx transports that call through seawall: ``Transport`` and ``AsyncTransport``.

They wrap any httpx transport (default: httpx's own) and, for each request:

* apply the policy of the dependency whose ``hosts`` match the request's host (bulkhead,
  breaker, deadline, retries with the budget); other hosts pass through with only the two
  steps below;
* add the correlation header (``correlation.header``, never overwriting one the request has)
  when the host is in ``correlation.propagate_to`` or belongs to a dependency;
* shrink the request's timeouts to the attempt's time: the smaller of the dependency's
  ``timeout`` and the request deadline's :func:`~seawall.context.deadline.remaining`; async
  attempts are also cancelled at it.

5xx answers and transport errors count as failures; 429 is a rate limit (backed off, never a
breaker failure). Only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) and requests with
an ``Idempotency-Key`` header are retried; the response of a refused retry is returned as is.
During a dead-letter replay, a request without an ``Idempotency-Key`` gets the entry's key, so
the server can tell the replay from the original and apply it at most once.

>>> client = httpx.Client(transport=seawall.integrations.httpx.Transport())
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from seawall.client import dependencies as _dependencies
from seawall.client.classify import parse_retry_after
from seawall.client.dependencies import Dependencies
from seawall.client.dependency import Dependency
from seawall.context.correlation import get_correlation_id
from seawall.context.deadline import remaining
from seawall.context.replaying import replaying_key
from seawall.errors.exceptions import RequestTimeoutError, SeawallRejection
from seawall.observability.events import DependencyRequest
from seawall.resilience.timeouts import Timeout

__all__ = ["IDEMPOTENT_METHODS", "AsyncTransport", "Transport"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRY_AFTER_STATUSES = (429, 503)
_NO_TIMEOUTS: dict[str, float | None] = {"connect": None, "read": None, "write": None, "pool": None}


class _Core:
    """What both transports do around an attempt; see the module docstring."""

    def __init__(self, dependencies: Dependencies | None, clock: Callable[[], float]) -> None:
        self._dependencies = dependencies
        self._clock = clock

    def prepare(self, request: httpx.Request) -> Dependency | None:
        """Add the correlation header where allowed (and a replay's ``Idempotency-Key``); the
        dependency the host belongs to."""
        key = replaying_key()
        if key is not None and "idempotency-key" not in request.headers:
            request.headers["Idempotency-Key"] = key
        registry = self._dependencies or _dependencies.ACTIVE
        if registry is None:
            return None
        host = request.url.host
        correlation_id = get_correlation_id()  # the cheapest test first: outside a request, none
        if correlation_id is not None and registry.propagate_to.get(host):
            header = registry.correlation_header
            if header not in request.headers:
                request.headers[header] = correlation_id
        return registry.hosts.get(host)

    @staticmethod
    def shrink(request: httpx.Request, seconds: float | None) -> None:
        """Cap each of the request's timeouts (connect, read, write, pool) at ``seconds``."""
        if seconds is None:
            return
        current = request.extensions.get("timeout") or _NO_TIMEOUTS
        request.extensions["timeout"] = {
            key: seconds if value is None or value > seconds else value
            for key, value in current.items()
        }

    @staticmethod
    def retryable(request: httpx.Request) -> bool:
        return request.method in IDEMPOTENT_METHODS or "idempotency-key" in request.headers

    def report(
        self,
        dep: Dependency | None,
        request: httpx.Request,
        started: float | None,
        status: int | None,
        error: BaseException | None,
    ) -> None:
        """Publish one attempt (for ``http_client_request_duration_seconds``)."""
        if started is None or dep is None:
            return
        dep.events.publish(
            DependencyRequest(
                dep.name, request.method, status, self._clock() - started,
                None if error is None else type(error).__name__,
            )
        )  # fmt: skip

    def timer(self, dep: Dependency) -> float | None:
        return self._clock() if dep.wants_requests() else None

    @staticmethod
    def judge(
        dep: Dependency, response: httpx.Response, attempt: int, retry: bool
    ) -> tuple[str | None, float | None]:
        """The response's classification (``None``: an answer) and the wait before a retry
        (``None``: none)."""
        status = response.status_code
        classification = dep.classifier.status(status)
        if classification is None or not retry:
            return classification, None
        retry_after = None
        if status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        return classification, dep.next_delay(classification, attempt, retry_after)


def _outcome(classification: str | None) -> str:
    return "success" if classification is None else "failure"


class Transport(httpx.BaseTransport):
    """Wrap ``transport`` (default ``httpx.HTTPTransport()``) with seawall's dependency policy.

    ``dependencies`` pins a :class:`~seawall.client.dependencies.Dependencies`; by default the
    process-wide one is used, found at each request, so the transport can be made at import.
    """

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        *,
        dependencies: Dependencies | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = transport if transport is not None else httpx.HTTPTransport()
        self._core = _Core(dependencies, clock)
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core = self._core
        dep = core.prepare(request)
        if dep is None:
            core.shrink(request, remaining())
            return self._inner.handle_request(request)
        retry = core.retryable(request)
        started = dep.started()
        dep.count_call()
        attempt = 0
        last: httpx.Response | BaseException | None = None
        while True:
            attempt += 1
            try:
                admission = dep.enter()
            except SeawallRejection as rejection:
                return _refused(dep, rejection, last, attempt, started)
            core.shrink(request, remaining())
            timer = core.timer(dep)
            try:
                response = self._inner.handle_request(request)
            except Exception as exc:
                admission.finish(None, exc)
                core.report(dep, request, timer, None, exc)
                delay = dep.next_delay(dep.classifier.classify(exc), attempt) if retry else None
                if delay is None:
                    dep.ended(dep.failed_outcome(exc), attempt, started, _name(exc))
                    raise
                last = exc
                self._sleep(delay)
                continue
            except BaseException as exc:
                admission.finish(None, exc)
                raise
            admission.finish(response.status_code, None)
            core.report(dep, request, timer, response.status_code, None)
            classification, delay = core.judge(dep, response, attempt, retry)
            if delay is None:
                dep.ended(_outcome(classification), attempt, started, None)
                return response
            response.read()  # kept whole: it is the answer if the retry is refused
            last = response
            self._sleep(delay)

    def close(self) -> None:
        self._inner.close()


class AsyncTransport(httpx.AsyncBaseTransport):
    """:class:`Transport` for ``httpx.AsyncClient``; each attempt is cancelled at its time."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        dependencies: Dependencies | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._core = _Core(dependencies, clock)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = self._core
        dep = core.prepare(request)
        if dep is None:
            core.shrink(request, remaining())
            return await self._inner.handle_async_request(request)
        retry = core.retryable(request)
        started = dep.started()
        dep.count_call()
        attempt = 0
        last: httpx.Response | BaseException | None = None
        while True:
            attempt += 1
            try:
                admission = await dep.aenter()
            except SeawallRejection as rejection:
                return _refused(dep, rejection, last, attempt, started)
            seconds = dep.seconds()
            core.shrink(request, seconds)
            timer = core.timer(dep)
            try:
                response = await self._send(request, seconds, dep.name)
            except Exception as exc:
                admission.finish(None, exc)
                core.report(dep, request, timer, None, exc)
                delay = dep.next_delay(dep.classifier.classify(exc), attempt) if retry else None
                if delay is None:
                    dep.ended(dep.failed_outcome(exc), attempt, started, _name(exc))
                    raise
                last = exc
                await asyncio.sleep(delay)
                continue
            except BaseException as exc:
                admission.finish(None, exc)
                raise
            admission.finish(response.status_code, None)
            core.report(dep, request, timer, response.status_code, None)
            classification, delay = core.judge(dep, response, attempt, retry)
            if delay is None:
                dep.ended(_outcome(classification), attempt, started, None)
                return response
            await response.aread()  # kept whole: it is the answer if the retry is refused
            last = response
            await asyncio.sleep(delay)

    async def _send(
        self, request: httpx.Request, seconds: float | None, name: str
    ) -> httpx.Response:
        """One attempt, cancelled after ``seconds``: an ``httpx.TimeoutException`` then."""
        if seconds is None:
            return await self._inner.handle_async_request(request)
        try:
            async with Timeout(seconds, name):
                return await self._inner.handle_async_request(request)
        except RequestTimeoutError as exc:
            raise httpx.TimeoutException(
                f"seawall: no answer within the attempt's {seconds:.3f} s", request=request
            ) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _refused(
    dep: Dependency,
    rejection: SeawallRejection,
    last: httpx.Response | BaseException | None,
    attempt: int,
    started: float | None,
) -> httpx.Response:
    """Admission refused: a first attempt raises the rejection; a retry gives up with the last
    answer or error."""
    if last is None:
        dep.ended("rejected", 0, started, type(rejection).__name__)
        raise rejection
    dep.retry_event("rejected", attempt - 1, 0.0, "transient")
    if isinstance(last, BaseException):
        dep.ended(dep.failed_outcome(last), attempt - 1, started, type(last).__name__)
        raise last
    dep.ended("failure", attempt - 1, started, None)
    return last
