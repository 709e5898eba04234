"""Recovery actions: when a dependency's breaker opens, run its ``recovery.action`` off the
request path (a pool reset, a reconnect), at most once per ``cooldown`` and at most
``max_attempts`` times per outage; an outage ends when the breaker closes.

Runs happen on one background thread with a bounded queue, so a slow action never holds a
request or the breaker's lock. ``dry_run`` publishes the run without calling the action. Each
run and the exhaustion of the attempts are events
(:class:`~seawall.observability.events.RecoveryRan`,
:class:`~seawall.observability.events.RecoveryExhausted`).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable

from seawall.clock import Clock, monotonic
from seawall.config.schema import RecoverySettings
from seawall.observability.events import EventBus, RecoveryExhausted, RecoveryRan
from seawall.resilience.breaker import BreakerEvent, State

__all__ = ["BackgroundRunner", "Recovery"]

_log = logging.getLogger("seawall.recovery")


class BackgroundRunner:
    """One daemon thread that runs submitted jobs in order; the queue holds at most ``limit``."""

    def __init__(self, limit: int = 64) -> None:
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue(limit)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> bool:
        """Queue ``job``; False (and a warning) when the queue is full."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="seawall recovery", daemon=True
                )
                self._thread.start()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            _log.warning("seawall recovery queue is full: a recovery run was dropped")
            return False
        return True

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception as exc:  # jobs report their own failures; this is a last guard
                _log.error("seawall recovery job raised %s", type(exc).__name__)


RUNNER = BackgroundRunner()


class Recovery:
    """The recovery of one dependency: decides when to run, runs on ``runner``."""

    __slots__ = (
        "_attempts", "_clock", "_exhausted", "_last", "_lock", "_runner", "events", "name",
        "settings",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        settings: RecoverySettings,
        events: EventBus,
        *,
        clock: Clock | None = None,
        runner: BackgroundRunner | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.events = events
        self._clock = clock or monotonic
        self._runner = runner or RUNNER
        self._lock = threading.Lock()
        self._attempts = 0
        self._last = -math.inf
        self._exhausted = False

    def on_transition(self, event: BreakerEvent) -> None:
        """A breaker listener: an opening may start a run, a closing ends the outage."""
        if event.new_state is State.OPEN:
            self.trigger()
        elif event.new_state is State.CLOSED:
            with self._lock:
                self._attempts = 0
                self._exhausted = False

    def trigger(self) -> bool:
        """Queue a run if the cooldown and the attempts allow it; True when one was queued."""
        s = self.settings
        with self._lock:
            if self._attempts >= s.max_attempts:
                report = not self._exhausted
                self._exhausted = True
                attempt = 0
            else:
                now = self._clock()
                if now - self._last < s.cooldown:
                    return False
                self._attempts += 1
                self._last = now
                attempt = self._attempts
                report = False
        if report:
            self.events.publish(RecoveryExhausted(self.name, s.action_name, s.max_attempts))
        if not attempt:
            return False
        return self._runner.submit(lambda: self.run(attempt))

    def run(self, attempt: int) -> None:
        """Call the action once (or only publish, with ``dry_run``) and publish how it went."""
        s = self.settings
        if s.dry_run:
            self.events.publish(RecoveryRan(self.name, s.action_name, attempt, "dry_run", None))
            return
        try:
            s.action()
        except Exception as exc:
            event = RecoveryRan(self.name, s.action_name, attempt, "failed", type(exc).__name__)
        else:
            event = RecoveryRan(self.name, s.action_name, attempt, "succeeded", None)
        self.events.publish(event)
