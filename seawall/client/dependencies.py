"""The dependencies of one app (or worker), built from the ``dependencies`` settings, and the
process-wide default that ``seawall.dependency(name)`` resolves against.

Which settings win: the **most recently made** :class:`Dependencies` is the default. Each
seawall install whose settings have a ``dependencies`` section (or
``correlation.propagate_to``) makes one (``ASGIMiddleware``, ``WSGIMiddleware``, the
Starlette/FastAPI ``install``, Flask's ``init_app``, Django's app at start-up and at the first
request after ``override_settings``), and so does an explicit ``seawall.Dependencies(settings)``
in a worker or script. Installs without those sections change nothing. Pass
``activate=False`` to keep a ``Dependencies`` private; handles made with
:meth:`Dependencies.dependency` always use theirs.

Dead letters: the calls of ``dead_letter: true`` dependencies that fail for good go to
``dead_letters=`` when given, else to the process-wide :func:`seawall.dead_letter.default`,
which a ``Dependencies`` that becomes the default configures from its own settings (the
``dead_letter`` section) and bus (so the app's alerts see each stored entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import structlog

from seawall.client.dependency import Dependency
from seawall.client.hosts import HostTable
from seawall.clock import Clock
from seawall.config.settings import Settings
from seawall.errors.problems import ProblemRegistry
from seawall.observability.events import BUS, EventBus
from seawall.resilience.breaker import CircuitBreaker

if TYPE_CHECKING:
    from seawall.dead_letter.queue import DeadLetters

__all__ = ["Dependencies", "UnknownDependencyError", "active"]


class UnknownDependencyError(LookupError):
    """A dependency name that the settings do not declare; the message names the known ones."""


class Dependencies:
    """Every configured dependency by name and by host, sharing one event bus.

    ``events`` (default: a new bus forwarding to :data:`seawall.events.BUS`, with seawall's
    log subscribed) receives every dependency event; a pipeline passes its own.

    >>> deps = seawall.Dependencies({"dependencies": {"payments": {"timeout": 2}}})
    >>> deps["payments"].call(charge, order)
    """

    def __init__(
        self,
        settings: Settings | Any = None,
        *,
        events: EventBus | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], object] | None = None,
        random: Callable[[], float] | None = None,
        activate: bool = True,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self.settings = settings = Settings.coerce(settings)
        if events is None:
            events = EventBus(parent=BUS)
            _log_to(events, settings)
        self.events = events
        problems = ProblemRegistry.from_settings(settings.errors)
        self._by_name = {
            d.name: Dependency(
                d, problems=problems, events=events, clock=clock, sleep=sleep, random=random
            )
            for d in settings.dependencies
        }
        self.hosts: HostTable[Dependency] = HostTable(
            (host, dep) for dep in self._by_name.values() for host in dep.hosts
        )
        # The correlation id goes to the hosts listed for it and to every dependency's hosts.
        self.propagate_to: HostTable[bool] = HostTable(
            [(h, True) for h in settings.correlation.propagate_to]
            + [(h, True) for dep in self._by_name.values() for h in dep.hosts]
        )
        self.correlation_header = settings.correlation.headers[0]
        stored = [d.name for d in settings.dependencies if d.dead_letter]
        if stored:
            _dead_letter_to(events, stored, settings, dead_letters, activate)
        if activate:
            _activate(self)

    def __repr__(self) -> str:
        return f"<Dependencies {', '.join(self._by_name) or '(none)'}>"

    def __getitem__(self, name: str) -> Dependency:
        """The dependency called ``name``; :class:`UnknownDependencyError` names the known ones."""
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(map(repr, self._by_name)) or "none are configured"
            raise UnknownDependencyError(
                f"seawall has no dependency {name!r} in its settings (known: {known})"
            ) from None

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is a configured dependency (a replay asks before using its policy)."""
        return name in self._by_name

    def __iter__(self) -> Iterator[Dependency]:
        """Every configured dependency, in the order the settings list them."""
        return iter(self._by_name.values())

    def dependency(self, name: str) -> Any:
        """A handle like ``seawall.dependency(name)`` that always uses these dependencies."""
        from seawall.client.handle import DependencyHandle

        return DependencyHandle(name, self)

    def for_host(self, host: str) -> Dependency | None:
        """The dependency whose ``hosts`` match ``host``, if any."""
        return self.hosts.get(host)

    def breakers(self) -> Iterator[tuple[str, CircuitBreaker, bool]]:
        """``(name, breaker, critical)`` of each dependency that has a breaker (for readiness
        and admin pages)."""
        for dep in self._by_name.values():
            if dep.breaker is not None:
                yield dep.name, dep.breaker, dep.critical


def _dead_letter_to(
    events: EventBus,
    names: list[str],
    settings: Settings,
    dead_letters: DeadLetters | None,
    configure: bool,
) -> None:
    """Store the final failures of ``names`` (see the module docstring for which queue)."""
    from seawall import dead_letter
    from seawall.dead_letter.recorder import DeadLetterRecorder

    if dead_letters is None and configure:
        dead_letter.configure(settings, events=events)
    queue = dead_letter.default if dead_letters is None else (lambda: dead_letters)
    DeadLetterRecorder(names, queue).attach(events)


def _log_to(events: EventBus, settings: Settings) -> None:
    """Subscribe seawall's log to a bus of its own, as a pipeline does."""
    from seawall.observability.log_events import EventLog
    from seawall.observability.redaction import Redactor

    EventLog(
        structlog.get_logger("seawall"),
        Redactor.from_settings(settings.redaction),
        frames=settings.errors.traceback_frames,
        include_locals=settings.redaction.frame_locals,
        log_client_errors=settings.errors.log_client_errors,
    ).attach(events)


ACTIVE: Dependencies | None = None
"""The process-wide default (see the module docstring); read it through :func:`active`."""


CURRENT: list[Dependencies | None] = [None]
""":data:`ACTIVE` in a list slot, for compiled hot paths (see ``events.CHANGES``)."""


def _activate(dependencies: Dependencies | None) -> None:
    global ACTIVE
    ACTIVE = dependencies
    CURRENT[0] = dependencies


def active() -> Dependencies | None:
    """The process-wide default (see the module docstring), or ``None`` before any."""
    return ACTIVE
