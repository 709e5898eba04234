"""Health endpoints (``application/health+json``): liveness, readiness, and a detailed report.

``GET {path}/live`` answers ``pass`` while the process serves and runs nothing (Kubernetes
liveness must not restart a pod because a database is down). ``GET {path}/ready`` runs the
checks (:mod:`seawall.observability.health_checks`) and looks at every breaker of the app: an
open or forced-open one makes its component ``warn``, or ``fail`` when its route or dependency
is ``critical``. ``GET {path}`` is the same with one entry per component; outputs and observed
values appear only when ``details`` allows (``always``, or ``token`` with the admin bearer
token), each passed through the redactor. When readiness goes from ``pass``/``warn`` to
``fail`` the app's bus gets :class:`~seawall.events.ReadinessFailed` (the failing components'
names), and :class:`~seawall.events.ReadinessRecovered` when it passes again. After
:meth:`Health.drain` (or :func:`drain`, say from a signal handler) readiness fails, so a load
balancer stops sending traffic before the server stops; a drain publishes no event.

>>> import signal, seawall.health
>>> signal.signal(signal.SIGUSR1, lambda *_: seawall.health.drain())  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from seawall.clock import Clock, monotonic
from seawall.config.schema import HealthSettings
from seawall.observability.events import EventBus, ReadinessFailed, ReadinessRecovered
from seawall.observability.health_checks import CheckResult, CheckRunner, Status, worst
from seawall.resilience.breaker import State
from seawall.resilience.registry import BreakerEntry, BreakerRegistry
from seawall.server.endpoints import EndpointRequest, Endpoints, bearer_matches, json_answer
from seawall.server.response import Rendered

__all__ = ["MEDIA_TYPE", "Health", "drain", "undrain"]

MEDIA_TYPE = "application/health+json"
_OPEN = frozenset({State.OPEN, State.FORCED_OPEN})
_every: weakref.WeakSet[Health] = weakref.WeakSet()


class Health:
    """The health of one app: its checks, its breakers, and whether it is draining."""

    def __init__(
        self,
        settings: HealthSettings,
        *,
        breakers: BreakerRegistry,
        token: str | None = None,
        redact: Callable[[str], str] = str,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
        events: EventBus | None = None,
    ) -> None:
        self.settings = settings
        self.breakers = breakers
        self.events = events
        self._clock = clock or monotonic
        self._failed_since: float | None = None  # monotonic, while readiness fails
        self._transition = threading.Lock()
        self._token = token
        self._redact = redact
        self._wall = wall
        self.checks = CheckRunner(
            settings.checks,
            timeout=settings.timeout,
            cache_for=settings.cache_for,
            failure_cache_for=settings.failure_cache_for,
            clock=self._clock,
            wall=wall,
        )
        self.draining = False
        _every.add(self)

    def drain(self) -> None:
        """From now on readiness answers ``fail`` (liveness still passes)."""
        self.draining = True

    def undrain(self) -> None:
        """Readiness follows the checks and breakers again."""
        self.draining = False

    def close(self) -> None:
        """Let go of the checks' threads (a check still running finishes on its own)."""
        self.checks.close()

    def mount(self, endpoints: Endpoints) -> None:
        """Serve ``{path}/live``, ``{path}/ready`` and ``{path}`` (no-op with no path)."""
        if self.settings.path is not None:
            endpoints.add(self.settings.path, self.answer, self.aanswer, prefix=True)

    # -- the endpoints -------------------------------------------------------------------

    def answer(self, request: EndpointRequest) -> Rendered:
        """The answer to a health request in a thread."""
        probe = self._probe(request.path)
        if probe is None:
            return _not_found()
        results = () if probe == "live" else self.checks.run()
        return self._render(probe, results, request)

    async def aanswer(self, request: EndpointRequest) -> Rendered:
        """The answer to a health request in a coroutine (async checks on this loop)."""
        probe = self._probe(request.path)
        if probe is None:
            return _not_found()
        results = () if probe == "live" else await self.checks.arun()
        return self._render(probe, results, request)

    def _probe(self, path: str) -> str | None:
        rest = path[len(self.settings.path or "") :]
        return {"": "report", "/live": "live", "/ready": "ready"}.get(rest)

    def _render(
        self, probe: str, results: tuple[CheckResult, ...], request: EndpointRequest
    ) -> Rendered:
        if probe == "live":
            return json_answer(200, {"status": "pass"}, content_type=MEDIA_TYPE)
        breakers = [(entry, _breaker_status(entry)) for entry in self.breakers]
        statuses = [r.status for r in results] + [status for _, (status, _) in breakers]
        self._publish(worst(statuses), results, breakers)
        status = "fail" if self.draining else worst(statuses)
        body: dict[str, Any] = {"status": status}
        if probe == "report":
            details = self._details_allowed(request)
            checks: dict[str, list[dict[str, object]]] = {
                r.name: [self._entry(r, details)] for r in results
            }
            if breakers:
                checks["breakers"] = [
                    self._breaker_entry(entry, state, s, details) for entry, (s, state) in breakers
                ]
            body["checks"] = checks
            if self.draining and details:
                body["output"] = "draining"
        return json_answer(503 if status == "fail" else 200, body, content_type=MEDIA_TYPE)

    def _publish(
        self,
        status: Status,
        results: tuple[CheckResult, ...],
        breakers: list[tuple[BreakerEntry, tuple[Status, State]]],
    ) -> None:
        """Tell the bus when readiness (draining aside) starts or stops failing."""
        if self.events is None:
            return
        now = self._clock()
        name = f"{self.settings.path or ''}/ready"
        with self._transition:  # held while publishing: a recovery never overtakes its failure
            since = self._failed_since
            if (status == "fail") == (since is not None):
                return
            self._failed_since = now if status == "fail" else None
            if since is None:
                failing = [r.name for r in results if r.status == "fail"]
                failing += [entry.name for entry, (s, _) in breakers if s == "fail"]
                self.events.publish(ReadinessFailed(name, tuple(failing)))
            else:
                self.events.publish(ReadinessRecovered(name, now - since))

    def _details_allowed(self, request: EndpointRequest) -> bool:
        mode = self.settings.details
        if mode == "always":
            return True
        return mode == "token" and bearer_matches(request.header("authorization"), self._token)

    def _entry(self, result: CheckResult, details: bool) -> dict[str, object]:
        entry: dict[str, object] = {"status": result.status, "time": _iso(result.time)}
        if details:
            for key, value in result.details.items():
                entry[key] = self._redact(value) if isinstance(value, str) else value
        return entry

    def _breaker_entry(
        self, entry: BreakerEntry, state: State, status: Status, details: bool
    ) -> dict[str, object]:
        shown: dict[str, object] = {
            "componentId": entry.name,
            "componentType": entry.kind,
            "status": status,
            "time": _iso(self._wall()),
        }
        if details:
            shown["observedValue"] = str(state)
        return shown


def _breaker_status(entry: BreakerEntry) -> tuple[Status, State]:
    state = entry.breaker.state
    if state not in _OPEN:
        return "pass", state
    return ("fail" if entry.critical else "warn"), state


def _iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _not_found() -> Rendered:
    return json_answer(404, {"status": 404, "title": "Not Found"})


def _each() -> Iterable[Health]:
    return list(_every)


def drain() -> None:
    """Drain every app of this process: readiness fails from now on (liveness passes)."""
    for health in _each():
        health.drain()


def undrain() -> None:
    """Undo :func:`drain` for every app of this process."""
    for health in _each():
        health.undrain()
