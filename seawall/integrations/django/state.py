"""What seawall knows about one Django request while Django's chain runs."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from seawall.integrations.django.conf import Runtime
from seawall.resilience.engine import NO_ANSWER, Admission
from seawall.resilience.timeouts import Timeout
from seawall.server.guard import RouteGuard

__all__ = ["STATE", "RequestState"]

STATE = "_seawall"
"""The request attribute holding the :class:`RequestState` of a request seawall is handling."""


class RequestState:
    """What seawall knows about one request while Django's chain runs."""

    __slots__ = (
        "active", "admission", "django_exc", "django_logged", "failure", "guard", "measured",
        "method", "route", "runtime", "started", "timer",
    )  # fmt: skip

    def __init__(self, runtime: Runtime, method: str = "GET") -> None:
        self.runtime = runtime
        self.method = method
        self.measured: Any = None  # the route's RouteMetrics, its active gauge raised
        self.started = 0.0  # perf_counter() at the start, when metrics are on
        self.route: str | None = None
        self.guard: RouteGuard | None = None
        self.admission: Admission | None = None
        self.timer: Timeout | None = None
        self.failure: BaseException | None = None
        # An exception Django turned into a response itself (seen via its logger or signal).
        self.django_exc: BaseException | None = None
        self.django_logged = False
        self.active = False  # True while the rest of the chain runs

    def finish(self, status: int | None) -> None:
        """Report the outcome (``None``: no answer) to the route's guard, once, then let go of
        the exceptions: their tracebacks hold frames that hold this state, a cycle only the
        collector would free."""
        admission = self.admission
        try:
            if self.started:
                self._observe(status)
            if admission is not None:
                self.admission = None
                admission.finish(NO_ANSWER if status is None else status, self.failure)
        finally:
            self.failure = self.django_exc = None

    def begin_metrics(self) -> None:
        """Start timing the request (when the app has metrics)."""
        if self.runtime.pipeline.metrics is not None:
            self.started = perf_counter()

    def routed(self, template: str) -> None:
        """The request's route is known: count it active under its label."""
        metrics = self.runtime.pipeline.metrics
        if metrics is not None and self.measured is None and self.started:
            self.measured = measured = metrics.route("/" + template.lstrip("/"))
            measured.start()

    def _observe(self, status: int | None) -> None:
        """Record the finished request once (``None``: no answer, counted as 500)."""
        seconds = perf_counter() - self.started
        self.started = 0.0
        measured = self.measured
        metrics: Any = self.runtime.pipeline.metrics
        if measured is None:
            metrics.unmatched.observe(self.method, status or 0, seconds)
        else:
            measured.finish(self.method, status or 0, seconds)
