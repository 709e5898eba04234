"""Store the calls of ``dead_letter: true`` dependencies that failed for good.

The recorder subscribes to :class:`~seawall.observability.events.DependencyFailed` on a
:class:`~seawall.client.dependencies.Dependencies`' bus and stores each ``final`` one of the
dependencies it was given: retries spent or refused, the breaker open, the bulkhead full, the
deadline passed. It runs in the caller's thread before the error is raised or a fallback
answers (the operation did not happen, whatever the caller got), so the entry carries the
request's correlation id. Storing never raises into the caller: a failing store is one log
event (``dead_letter_store_failed``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import structlog

from seawall.dead_letter.queue import DeadLetters
from seawall.observability.events import DependencyFailed, EventBus

__all__ = ["DeadLetterRecorder"]

_log = structlog.get_logger("seawall")


class DeadLetterRecorder:
    """Stores final failures of the ``names`` dependencies in ``queue()`` (looked up at each
    failure, so a later :func:`seawall.dead_letter.configure` is followed)."""

    def __init__(self, names: Iterable[str], queue: Callable[[], DeadLetters]) -> None:
        self.names = frozenset(names)
        self._queue = queue

    def attach(self, bus: EventBus) -> Callable[[], None]:
        return bus.subscribe(DependencyFailed, self)

    def __call__(self, event: DependencyFailed) -> None:
        if not event.final or event.dependency not in self.names:
            return
        try:
            self._queue().record_call(
                event.dependency,
                event.fn,
                event.args,
                event.kwargs,
                attempts=event.attempts,
                first_error=event.errors[0] if event.errors else None,
                last_error=event.errors[-1] if event.errors else None,
            )
        except Exception as exc:  # the caller gets its own error, never the store's
            _log.error(
                "dead_letter_store_failed",
                dependency=event.dependency,
                error_type=type(exc).__name__,
                error=str(exc),
            )
