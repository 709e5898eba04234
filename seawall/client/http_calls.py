"""The httpx transports' per-request work, apart from httpx so mypyc can compile it.

``seawall.integrations.httpx`` subclasses httpx's transport classes, which mypyc cannot
compile; its ``handle_request`` only hands the request to :class:`HttpCalls`, which does the
rest (see that module's docstring for what): the host's dependency and correlation rule
(cached per host string), the attempts under the policy, retries only on a failure of a
retryable request, and the request's timeouts shrunk only when a deadline is set. Requests
and responses are httpx's, used by duck typing, so this module never imports httpx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from seawall.client import dependencies as _dependencies
from seawall.client.classify import parse_retry_after
from seawall.client.dependencies import Dependencies
from seawall.client.dependency import Dependency
from seawall.context.correlation import get_correlation_id
from seawall.context.deadline import remaining
from seawall.context.replaying import REPLAYING
from seawall.errors.exceptions import RequestTimeoutError, SeawallRejection
from seawall.observability.events import DependencyRequest
from seawall.resilience.breaker import Permit
from seawall.resilience.timeouts import Timeout

__all__ = ["IDEMPOTENT_METHODS", "HttpCalls"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRY_AFTER_STATUSES = (429, 503)
_NO_TIMEOUTS: Final[dict[str, float | None]] = {
    "connect": None,
    "read": None,
    "write": None,
    "pool": None,
}
_CACHE_LIMIT = 1024
# Bound once: compiled code calls a bound method directly but looks one up by name each call.
_replaying: Final = REPLAYING.get
_current: Final = _dependencies.CURRENT  # dependencies.ACTIVE, in a list slot

# A response or transport error kept for a refused retry, or None before any attempt.
Last = Any


class _Route:
    """What a host gets: its dependency (``None``: pass through) and the correlation header."""

    __slots__ = ("dependency", "propagate")

    def __init__(self, dependency: Dependency | None, propagate: bool) -> None:
        self.dependency = dependency
        self.propagate = propagate


class HttpCalls:
    """One transport's requests through seawall; ``inner`` is the wrapped httpx transport.

    ``timeout_error(message, request)`` makes the ``httpx.TimeoutException`` an async attempt
    cut at its time raises.
    """

    __slots__ = (
        "_ahandle", "_clock", "_dependencies", "_handle", "_registry", "_routes",
        "_sleep", "_timeout_error",
    )  # fmt: skip

    def __init__(
        self,
        inner: Any,
        dependencies: Dependencies | None,
        clock: Callable[[], float],
        sleep: Callable[[float], object],
        timeout_error: Callable[[str, Any], BaseException],
    ) -> None:
        # Bound once (a method looked up by name costs about 450 instructions a request).
        self._handle: Any = getattr(inner, "handle_request", None)
        self._ahandle: Any = getattr(inner, "handle_async_request", None)
        self._dependencies = dependencies
        self._clock = clock
        self._sleep = sleep
        self._timeout_error = timeout_error
        self._registry: Dependencies | None = None  # the registry _routes were read from
        self._routes: dict[str, _Route] = {}

    # -- per request ---------------------------------------------------------------------------

    def _prepare(self, registry: Dependencies, request: Any) -> Dependency | None:
        """Add the correlation header where allowed; the dependency the host belongs to."""
        if registry is not self._registry:
            self._routes = {}
            self._registry = registry
        host = _host(request.url)
        routes = self._routes
        route = routes.get(host)
        if route is None:
            route = _Route(registry.hosts.get(host), bool(registry.propagate_to.get(host)))
            if len(routes) < _CACHE_LIMIT:
                routes[host] = route
        if route.propagate:
            correlation_id = get_correlation_id()
            if correlation_id is not None:
                header = registry.correlation_header
                headers = request.headers
                if header not in headers:
                    headers[header] = correlation_id
        return route.dependency

    def _report(
        self,
        dep: Dependency,
        request: Any,
        started: float,
        status: int | None,
        error: BaseException | None,
    ) -> None:
        """Publish one attempt (for ``http_client_request_duration_seconds``)."""
        dep.events.publish(
            DependencyRequest(
                dep.name, request.method, status, self._clock() - started,
                None if error is None else type(error).__name__,
            )
        )  # fmt: skip

    def _begin(self, request: Any) -> Dependency | None:
        """Both drivers' first step: the replay key, the header, the host's dependency."""
        _replay_key(request)
        registry = self._dependencies
        if registry is None:
            registry = _current[0]
            if registry is None:
                return None
        return self._prepare(registry, request)

    def _answered(
        self,
        dep: Dependency,
        request: Any,
        response: Any,
        permit: Permit | None,
        began: float,
        timer: float | None,
        attempt: int,
        started: float | None,
    ) -> float | None:
        """An attempt answered: record it; the wait before a retry, or ``None``: the call
        ended with ``response`` (published here). The one decision both drivers share."""
        status: int = response.status_code
        dep.settle(permit, began, status, None, attempt == 1)
        if timer is not None:
            self._report(dep, request, timer, status, None)
        if status != 429 and status not in dep.failure_statuses:
            if started is not None:
                dep.ended("success", attempt, started, None)
            return None
        return _response_delay(dep, request, response, status, attempt, started)

    def _errored(
        self,
        dep: Dependency,
        request: Any,
        exc: BaseException,
        permit: Permit | None,
        began: float,
        timer: float | None,
        attempt: int,
        started: float | None,
    ) -> float | None:
        """An attempt raised: record it; the wait before a retry, or ``None``: re-raise."""
        dep.settle(permit, began, None, exc, attempt == 1)
        if not isinstance(exc, Exception):  # cancelled or interrupted: no retry, no report
            return None
        if timer is not None:
            self._report(dep, request, timer, None, exc)
        delay = _error_delay(dep, request, exc, attempt)
        if delay is None:
            dep.ended(dep.failed_outcome(exc), attempt, started, _name(exc))
        return delay

    # -- sync ----------------------------------------------------------------------------------

    def send(self, request: Any) -> Any:
        """``Transport.handle_request``: the response, or the last transport error raised."""
        dep = self._begin(request)
        if dep is None:
            _shrink(request, remaining())
            return self._handle(request)
        started = dep.started()
        attempt = 0
        last: Last = None
        while True:
            attempt += 1
            permit = dep.admit()
            if permit is not None and not isinstance(permit, Permit):
                return _refused(dep, permit, last, attempt, started)
            _shrink(request, dep.seconds())
            began = dep.began()
            timer = self._clock() if dep.wants_request else None  # read by started()
            try:
                response = self._handle(request)
            except BaseException as exc:
                delay = self._errored(dep, request, exc, permit, began, timer, attempt, started)
                if delay is None:
                    raise
                last = exc
                self._sleep(delay)
                continue
            delay = self._answered(dep, request, response, permit, began, timer, attempt, started)
            if delay is None:
                return response
            response.read()  # kept whole: it is the answer if the retry is refused
            last = response
            self._sleep(delay)

    # -- async ---------------------------------------------------------------------------------

    async def asend(self, request: Any) -> Any:
        """``AsyncTransport.handle_async_request``; each attempt is cancelled at its time."""
        dep = self._begin(request)
        if dep is None:
            _shrink(request, remaining())
            return await self._ahandle(request)
        started = dep.started()
        attempt = 0
        last: Last = None
        while True:
            attempt += 1
            permit = await dep.aadmit()
            if permit is not None and not isinstance(permit, Permit):
                return _refused(dep, permit, last, attempt, started)
            seconds = dep.seconds()
            _shrink(request, seconds)
            began = dep.began()
            timer = self._clock() if dep.wants_request else None  # read by started()
            try:
                response = await self._attempt(request, seconds, dep.name)
            except BaseException as exc:
                delay = self._errored(dep, request, exc, permit, began, timer, attempt, started)
                if delay is None:
                    raise
                last = exc
                await asyncio.sleep(delay)
                continue
            delay = self._answered(dep, request, response, permit, began, timer, attempt, started)
            if delay is None:
                return response
            await response.aread()  # kept whole: it is the answer if the retry is refused
            last = response
            await asyncio.sleep(delay)

    async def _attempt(self, request: Any, seconds: float | None, name: str) -> Any:
        """One attempt, cancelled after ``seconds``: an ``httpx.TimeoutException`` then."""
        if seconds is None:
            return await self._ahandle(request)
        try:
            async with Timeout(seconds, name):
                return await self._ahandle(request)
        except RequestTimeoutError as exc:
            message = f"seawall: no answer within the attempt's {seconds:.3f} s"
            raise self._timeout_error(message, request) from exc


def _host(url: Any) -> str:
    """The host as httpx parsed it: lowercase, an IDNA name in its ASCII form, as the
    ``hosts`` settings are written (``url.host`` decodes it to Unicode, in a Python property
    that cost about 1,400 instructions a request); ``url.host`` if the parse is not there."""
    try:
        host: str = url._uri_reference.host
    except AttributeError:
        host = url.host
    return host


def _retryable(request: Any) -> bool:
    """Idempotent methods and requests carrying an ``Idempotency-Key`` may be sent again."""
    return request.method in IDEMPOTENT_METHODS or "idempotency-key" in request.headers


def _error_delay(dep: Dependency, request: Any, exc: BaseException, attempt: int) -> float | None:
    """The wait before retrying after a transport error, or ``None``: no retry."""
    if not _retryable(request):
        return None
    return dep.next_delay(dep.classifier.classify(exc), attempt)


def _response_delay(
    dep: Dependency, request: Any, response: Any, status: int, attempt: int, started: float | None
) -> float | None:
    """A failed or rate-limited answer: the wait before a retry, or ``None`` (the call ended
    with ``response``, published here)."""
    classification = dep.classifier.status(status)
    assert classification is not None  # only 429 and failure statuses come here
    delay = None
    if _retryable(request):
        retry_after = None
        if status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
        delay = dep.next_delay(classification, attempt, retry_after)
    if delay is None:
        dep.ended("failure", attempt, started, None)
    return delay


def _shrink(request: Any, seconds: float | None) -> None:
    """Cap each of the request's timeouts (connect, read, write, pool) at ``seconds``; a new
    dict only when one is over (the request's own dict is never changed in place)."""
    if seconds is None:
        return
    extensions = request.extensions
    if isinstance(extensions, dict):  # httpx's Request always makes one: read it directly
        capped = _capped(extensions.get("timeout") or _NO_TIMEOUTS, seconds)
        if capped is not None:
            extensions["timeout"] = capped
        return
    capped = _capped(extensions.get("timeout") or _NO_TIMEOUTS, seconds)
    if capped is not None:
        extensions["timeout"] = capped


# The last timeouts cut: (seconds, the timeouts as a request had them, what they became or
# None: kept), in one list slot replaced whole. A client's requests carry equal timeouts and
# an attempt's time is its dependency's ``timeout`` while no deadline is set: one comparison
# of two small dicts then replaces reading and judging each of the four.
_LAST: Final[list[tuple[float, dict[str, float | None], dict[str, float | None] | None]]] = [
    (-1.0, {}, None)
]


def _capped(current: dict[str, float | None], seconds: float) -> dict[str, float | None] | None:
    """A new dict of ``current``'s timeouts cut to ``seconds``, or ``None`` when none is
    over; remembered for the next request with the same timeouts and time."""
    last = _LAST[0]  # one read: another thread may replace the triple, never change it
    if last[0] == seconds and current == last[1]:
        made = last[2]
    else:
        made = _cut(current, seconds)
        _LAST[0] = (seconds, dict(current), made)
    return None if made is None else dict(made)  # a copy: each request gets its own


def _cut(current: dict[str, float | None], seconds: float) -> dict[str, float | None] | None:
    """``current`` with each timeout over ``seconds`` cut to it, or ``None`` if none is."""
    for value in current.values():
        if _over(value, seconds):
            return {
                key: seconds if _over(value, seconds) else value for key, value in current.items()
            }
    return None


def _over(value: float | None, seconds: float) -> bool:
    """True for a timeout that the attempt's ``seconds`` cuts (``None`` is no timeout)."""
    return value is None or value > seconds


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _refused(
    dep: Dependency, rejection: SeawallRejection, last: Last, attempt: int, started: float | None
) -> Any:
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


def _replay_key(request: Any) -> None:
    """During a dead-letter replay, the entry's ``Idempotency-Key`` unless the request has one."""
    entry = _replaying()
    if entry is not None:
        headers = request.headers
        if "idempotency-key" not in headers:
            headers["Idempotency-Key"] = entry.idempotency_key
