"""Async views served over WSGI, whose route ``timeout`` nothing enforces.

Under WSGI an async view runs to completion in an event loop of the request's thread: in
``deadline`` mode seawall cannot cancel it, so a 1 s timeout answers 200 after 3 s. The
adapters list their async views at start-up and warn once per such route; ``timeout_mode:
"thread"`` (a 504 at the deadline) or an ASGI server enforce the timeout.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from seawall.config.policies import policy_of
from seawall.config.routes import RouteTable, parse_route_key
from seawall.config.schema import PolicySettings
from seawall.server.pipeline import Pipeline

__all__ = ["AsyncView", "UnenforcedTimeout", "unenforced_timeouts", "warn_unenforced"]

_AUTOMATIC = frozenset({"HEAD", "OPTIONS"})
"""Methods frameworks answer for every route themselves."""

AsyncView = tuple[str, Collection[str] | None, object]
"""An async view's template, its methods (``None``: the router does not say) and the view."""


@dataclass(frozen=True, slots=True)
class UnenforcedTimeout:
    """A route whose async view keeps running past its ``timeout`` under WSGI."""

    route: str
    timeout: float

    @property
    def message(self) -> str:
        return (
            f"seawall route {self.route!r}: timeout {self.timeout:g} s is not enforced for its "
            "async view under WSGI; use timeout_mode 'thread' or serve the app with ASGI"
        )


def unenforced_timeouts(pipeline: Pipeline, views: Iterable[AsyncView]) -> list[UnenforcedTimeout]:
    """The routes of ``views`` whose policy (settings or ``@seawall.policy``) sets a timeout
    in ``deadline`` mode, once each."""
    settings = pipeline.settings
    table: RouteTable[PolicySettings] = RouteTable(settings.routes, default=settings.defaults)
    named = {m for key, _ in settings.routes if (m := parse_route_key(key).method) is not None}
    found: dict[str, UnenforcedTimeout] = {}
    for template, methods, view in views:
        for method in sorted(methods or {"GET", *named}):
            if method in _AUTOMATIC:
                continue
            key, policy = table.match_template(method, template)
            route = key or f"{method} {template}"
            policy = policy_of(view, policy, f"@seawall.policy on {route}") or policy
            if policy.timeout is not None and policy.timeout_mode == "deadline":
                found.setdefault(route, UnenforcedTimeout(route, policy.timeout))
    return list(found.values())


def warn_unenforced(pipeline: Pipeline, views: Iterable[AsyncView]) -> list[UnenforcedTimeout]:
    """Log one ``async_view_timeout_not_enforced`` warning per such route."""
    found = unenforced_timeouts(pipeline, views)
    for unenforced in found:
        pipeline.logger.warning(
            "async_view_timeout_not_enforced",
            route=unenforced.route,
            timeout=unenforced.timeout,
            message=unenforced.message,
        )
    return found
