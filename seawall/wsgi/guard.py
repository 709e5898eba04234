"""A route's guard over WSGI: what the middleware and the WSGI-based adapters (Flask, Django)
need beyond the engine's admission: request keys for the stale store, thread isolation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seawall.context.deadline import remaining
from seawall.server.guard import RouteGuard
from seawall.server.stale import RequestHeader, url_of

__all__ = ["environ_header", "environ_url", "isolated_wsgi"]


def environ_url(environ: dict[str, Any]) -> str:
    """The stale store's key of a WSGI request: path and query string."""
    return url_of(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))


def environ_header(environ: dict[str, Any]) -> RequestHeader:
    """Request headers of a WSGI environ (or Django's ``request.META``) by lower-case name."""

    def header(name: str) -> str | None:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"))
        return value if isinstance(value, str) else None

    return header


def isolated_wsgi(guard: RouteGuard, app: Callable[..., Any]) -> Callable[..., Any]:
    """In thread mode, run the whole app call (body included) on the route's isolation pool."""
    pool = guard.engine.pool
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

        chunks = pool.run(work, remaining(), route=guard.key)
        start_response(captured[0], captured[1])
        return chunks

    return isolated


def _no_write(data: bytes) -> None:
    raise RuntimeError("seawall thread isolation does not support the WSGI write() callable")
