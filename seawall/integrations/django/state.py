"""What seawall knows about one Django request while Django's chain runs."""

from __future__ import annotations

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
        "active", "admission", "django_exc", "django_logged", "failure", "guard", "route",
        "runtime", "timer",
    )  # fmt: skip

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
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
            if admission is not None:
                self.admission = None
                admission.finish(NO_ANSWER if status is None else status, self.failure)
        finally:
            self.failure = self.django_exc = None
