"""Operational endpoints: paths seawall answers itself, before any route policy or metric.

Health probes, the metrics exposition and the admin API must answer while a breaker is open or
a bulkhead full, and must not count as traffic. Every runner (the ASGI and WSGI middleware, the
Django middleware; the Starlette, FastAPI and Flask adapters through those) asks
:meth:`Endpoints.find` for the request path first, and answers a found endpoint with
:meth:`Endpoints.answer` (threads) or :meth:`Endpoints.aanswer` (coroutines).

The interface, stable for every module that mounts endpoints:

- ``pipeline.endpoints.add(path, handler, ahandler=None, prefix=False, methods=("GET", "HEAD"))``
  mounts ``handler(request) -> Rendered`` at ``path`` (with ``prefix=True``, also every path
  under ``path + "/"``). ``ahandler`` is the coroutine twin, used by ASGI runners; without one
  they call ``handler``, so it must not block long.
- ``request`` is an :class:`EndpointRequest`: method, path, query string, a header lookup by
  lower-case name, and the body (read for methods other than GET and HEAD, at most
  :data:`MAX_BODY` bytes).
- A method outside ``methods`` gets ``405`` with ``Allow``; ``HEAD`` gets the ``GET`` answer
  without its body. An exception in a handler becomes the runner's ``500`` problem.
- :func:`json_answer` builds a JSON :class:`Rendered`; :func:`bearer_matches` compares an
  ``Authorization: Bearer`` header with a token in constant time.

>>> pipeline.endpoints.add("/_seawall/breakers", list_breakers, prefix=True)  # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from seawall.server.response import Rendered
from seawall.server.stale import RequestHeader

__all__ = [
    "MAX_BODY",
    "Endpoint",
    "EndpointRequest",
    "Endpoints",
    "bearer_matches",
    "json_answer",
]

MAX_BODY = 64 * 1024
"""Largest request body an endpoint gets, in bytes; a longer one is answered ``413``."""

BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods whose body the runners do not read."""


@dataclass(frozen=True, slots=True)
class EndpointRequest:
    """What an endpoint handler sees of a request, the same under every protocol."""

    method: str
    path: str
    query: str
    header: RequestHeader
    body: bytes = b""


Handler = Callable[[EndpointRequest], Rendered]
AsyncHandler = Callable[[EndpointRequest], Awaitable[Rendered]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One mounted endpoint: its path, its handlers and the methods it answers."""

    path: str
    handler: Handler
    ahandler: AsyncHandler | None
    prefix: bool
    methods: frozenset[str]

    def refusal(self, method: str) -> Rendered | None:
        """The ``405`` for a method this endpoint does not answer, else ``None``."""
        if method in self.methods:
            return None
        allow = ", ".join(sorted(self.methods))
        return json_answer(405, {"status": 405, "title": "Method Not Allowed"}, allow=allow)


class Endpoints:
    """The endpoints of one pipeline, by path. Mount them before the app serves requests."""

    __slots__ = ("_exact", "_prefixed", "first")

    def __init__(self) -> None:
        self._exact: dict[str, Endpoint] = {}
        self._prefixed: list[Endpoint] = []
        self.first: tuple[str, ...] = ()
        """Every mounted path: a request path not starting with one of them is no endpoint's
        (one ``str.startswith`` per request, whatever the count)."""

    def add(
        self,
        path: str,
        handler: Handler,
        ahandler: AsyncHandler | None = None,
        *,
        prefix: bool = False,
        methods: tuple[str, ...] = ("GET", "HEAD"),
    ) -> Endpoint:
        """Mount ``handler`` at ``path``; a path mounted twice is an error."""
        if not path.startswith("/") or (path != "/" and path.endswith("/")):
            raise ValueError(f"endpoint path {path!r} must start with '/' and not end with '/'")
        if path in self._exact or any(e.path == path for e in self._prefixed):
            raise ValueError(f"endpoint path {path!r} is mounted already")
        allowed = {m.upper() for m in methods}
        if "GET" in allowed:
            allowed.add("HEAD")
        endpoint = Endpoint(path, handler, ahandler, prefix, frozenset(allowed))
        if prefix:
            # Longest first: /_seawall/x/y under /_seawall/x before /_seawall.
            self._prefixed = sorted([*self._prefixed, endpoint], key=lambda e: -len(e.path))
        else:
            self._exact[path] = endpoint
        self.first = (*self.first, path)
        return endpoint

    def __bool__(self) -> bool:
        return bool(self.first)

    def find(self, path: str) -> Endpoint | None:
        """The endpoint answering ``path``: an exact one, else the longest prefix."""
        found = self._exact.get(path)
        if found is not None:
            return found
        for endpoint in self._prefixed:
            if path == endpoint.path or path.startswith(endpoint.path + "/"):
                return endpoint
        return None

    def answer(self, endpoint: Endpoint, request: EndpointRequest) -> Rendered:
        """Run ``endpoint`` for ``request`` in this thread."""
        refused = _refused(endpoint, request)
        if refused is not None:
            return refused
        return _head(request, endpoint.handler(request))

    async def aanswer(self, endpoint: Endpoint, request: EndpointRequest) -> Rendered:
        """Run ``endpoint`` for ``request`` in a coroutine (its ``ahandler`` if it has one)."""
        refused = _refused(endpoint, request)
        if refused is not None:
            return refused
        if endpoint.ahandler is None:
            return _head(request, endpoint.handler(request))
        return _head(request, await endpoint.ahandler(request))


def _refused(endpoint: Endpoint, request: EndpointRequest) -> Rendered | None:
    if len(request.body) > MAX_BODY:
        return json_answer(413, {"status": 413, "title": "Content Too Large"})
    return endpoint.refusal(request.method)


def _head(request: EndpointRequest, answer: Rendered) -> Rendered:
    """A ``HEAD`` request gets the headers of the answer (its length included), not the body."""
    if request.method != "HEAD":
        return answer
    return Rendered(answer.status, answer.headers, b"")


def json_answer(
    status: int,
    data: object,
    *,
    content_type: str = "application/json",
    allow: str | None = None,
) -> Rendered:
    """A JSON answer that no cache keeps (operational state changes from one probe to the next)."""
    body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")
    headers = [
        ("content-type", content_type),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
    ]
    if allow is not None:
        headers.append(("allow", allow))
    return Rendered(status, headers, body)


def bearer_matches(authorization: str | None, token: str | None) -> bool:
    """True when ``authorization`` is ``Bearer <token>``, compared in constant time; never
    with no token configured."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))
