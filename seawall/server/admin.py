"""The admin API under ``admin.path``: list breakers, act on one, read the top errors.

- ``GET {path}/breakers``: every breaker with its state, counts, failure rate and open end;
- ``POST {path}/breakers/{name}/{action}``: ``force_open``, ``close``, ``disable``,
  ``metrics_only`` or ``reset``, in every worker when the state is shared;
- ``GET {path}/errors?limit=N``: the analytics' top fingerprints.

An action on a configured route key whose breaker this worker has not built yet (a view's
guard is built on its first request) answers ``200`` with no breakers and applies when it is
built; a name neither built nor configured is a ``404``.

``name`` is the breaker's name percent-encoded as one segment (``GET /items/{id}`` is
``GET%20%2Fitems%2F%7Bid%7D``); the action is always the last segment, so a server that
decodes ``%2F`` before seawall sees the path (uvicorn, gunicorn do) still finds the name.
Every request needs ``Authorization: Bearer <admin.token>`` (401 problem otherwise); with no
token configured nothing is mounted and the app sees these paths. No handler waits on Redis.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from seawall.context.correlation import get_correlation_id
from seawall.errors.problems import Problem
from seawall.resilience.registry import BreakerEntry
from seawall.server.endpoints import EndpointRequest, bearer_matches, json_answer
from seawall.server.response import Rendered
from seawall.state.actions import ACTIONS

if TYPE_CHECKING:
    from seawall.server.pipeline import Pipeline

__all__ = ["AdminAPI", "breaker_view"]

DEFAULT_LIMIT, MAX_LIMIT = 20, 1000


def breaker_view(entry: BreakerEntry, wall: float) -> dict[str, Any]:
    """What the API shows of one breaker; ``open_until`` in UTC, from the wall clock ``wall``."""
    snap = entry.breaker.snapshot()
    left = snap.seconds_to_half_open
    until = None
    if left is not None:
        moment = datetime.datetime.fromtimestamp(wall + left, tz=datetime.UTC)
        until = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "name": entry.name,
        "kind": entry.kind,
        "critical": entry.critical,
        "state": snap.state.value,
        "calls": snap.calls,
        "failures": snap.failures,
        "slow_calls": snap.slow_calls,
        "failure_rate": round(snap.failure_rate, 4),
        "slow_rate": round(snap.slow_rate, 4),
        "consecutive_failures": snap.consecutive_failures,
        "open_until": until,
        "seconds_to_half_open": None if left is None else round(left, 3),
        "half_open_in_flight": snap.half_open_in_flight,
        "would_open": snap.would_open,
    }


class AdminAPI:
    """The admin endpoints of one pipeline; :meth:`mount` them when a token is configured."""

    def __init__(self, pipeline: Pipeline, *, wall: Callable[[], float] = time.time) -> None:
        self.pipeline = pipeline
        self.path = pipeline.settings.admin.path.rstrip("/")
        self.token = pipeline.settings.admin.token
        self._wall = wall
        self._configured = frozenset(key for key, _ in pipeline.settings.routes)

    def mount(self) -> bool:
        """Mount under ``admin.path`` unless no token is set (then the app keeps the path)."""
        if not self.token:
            return False
        self.pipeline.endpoints.add(self.path or "/", self, prefix=True, methods=("GET", "POST"))
        return True

    def __call__(self, request: EndpointRequest) -> Rendered:
        if not bearer_matches(request.header("authorization"), self.token):
            return self._problem(
                request,
                401,
                "Unauthorized",
                "send Authorization: Bearer with the admin token",
                {"WWW-Authenticate": 'Bearer realm="seawall"'},
            )
        rest = request.path[len(self.path) :]
        if rest == "/breakers":
            return self._only(request, "GET") or self._breakers()
        if rest == "/errors":
            return self._only(request, "GET") or self._errors(request)
        if rest.startswith("/breakers/"):
            name, _, action = rest[len("/breakers/") :].rpartition("/")
            if name and action:
                return self._only(request, "POST") or self._act(request, unquote(name), action)
        return self._problem(request, 404, "Not Found", "no admin endpoint at this path")

    def _only(self, request: EndpointRequest, method: str) -> Rendered | None:
        if request.method == method or (method == "GET" and request.method == "HEAD"):
            return None
        allow = {"Allow": "GET, HEAD" if method == "GET" else method}
        return self._problem(request, 405, "Method Not Allowed", None, allow)

    def _breakers(self) -> Rendered:
        wall = self._wall()
        state = self.pipeline.state
        data = {
            "backend": state.backend,
            "breakers": [breaker_view(entry, wall) for entry in self.pipeline.breakers],
        }
        return json_answer(200, data)

    def _act(self, request: EndpointRequest, name: str, action: str) -> Rendered:
        if action not in ACTIONS:
            detail = f"unknown action; one of: {', '.join(ACTIONS)}"
            return self._problem(request, 404, "Not Found", detail)
        entries = self.pipeline.breakers.named(name)
        if not entries and name not in self._configured:
            detail = "no breaker has this name, and no route key in the settings"
            return self._problem(request, 404, "Not Found", detail)
        entries = self.pipeline.state.command(name, action)
        wall = self._wall()
        views = [breaker_view(entry, wall) for entry in entries]
        data = {"action": action, "name": name, "backend": self.pipeline.state.backend}
        return json_answer(200, {**data, "breakers": views})

    def _errors(self, request: EndpointRequest) -> Rendered:
        values = parse_qs(request.query).get("limit", [str(DEFAULT_LIMIT)])
        try:
            limit = int(values[-1])
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            detail = f"limit must be a whole number from 1 to {MAX_LIMIT}"
            return self._problem(request, 400, "Bad Request", detail)
        if not self.pipeline.settings.analytics.enabled:
            detail = "error analytics are off (analytics.enabled)"
            return self._problem(request, 404, "Not Found", detail)
        items = [group.as_dict() for group in self.pipeline.analytics.top(limit)]
        return json_answer(200, {"errors": self.pipeline.redactor.redact(items)})

    def _problem(
        self,
        request: EndpointRequest,
        status: int,
        title: str,
        detail: str | None,
        headers: dict[str, str] | None = None,
    ) -> Rendered:
        problem = Problem(
            status,
            title,
            detail=detail,
            instance=request.path,
            extensions={"correlation_id": get_correlation_id()},
            headers={"Cache-Control": "no-store", **(headers or {})},
        )
        return self.pipeline.render(problem, request.header("accept"))
