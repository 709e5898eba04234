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

import time
from collections.abc import Callable

import httpx

from seawall.client.dependencies import Dependencies
from seawall.client.http_calls import IDEMPOTENT_METHODS, HttpCalls

__all__ = ["IDEMPOTENT_METHODS", "AsyncTransport", "Transport"]


def _timeout_error(message: str, request: httpx.Request) -> httpx.TimeoutException:
    return httpx.TimeoutException(message, request=request)


class Transport(httpx.BaseTransport):
    """Wrap ``transport`` (default ``httpx.HTTPTransport()``) with seawall's dependency policy.

    ``dependencies`` pins a :class:`~seawall.client.dependencies.Dependencies`; by default the
    process-wide one is used, found at each request, so the transport can be made at import.
    The work per request is in :class:`seawall.client.http_calls.HttpCalls` (compiled).
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
        self._calls = HttpCalls(self._inner, dependencies, clock, sleep, _timeout_error)
        if type(self).handle_request is Transport.handle_request:  # a subclass's override wins
            # httpx calls transport.handle_request(request): the compiled method itself then,
            # without this class's Python frame in between.
            self.handle_request = self._calls.send  # type: ignore[method-assign]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self._calls.send(request)
        return response

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
        self._calls = HttpCalls(self._inner, dependencies, clock, time.sleep, _timeout_error)
        if type(self).handle_async_request is AsyncTransport.handle_async_request:
            self.handle_async_request = self._calls.asend  # type: ignore[method-assign]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self._calls.asend(request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
