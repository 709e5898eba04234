"""The process's one alert worker: a daemon thread that pumps every registered outbox, and
the sinks' delivery lanes it hands the batches to.

The worker only schedules (due batches, retries, the engine's re-sends) and never waits on a
delivery: each batch runs on a lane, a daemon thread of its sink's that lives as long as that
delivery (the outbox gives a sink one batch at a time, so at most one lane per sink, none when
idle). Started on the first outbox that has sinks, and again in a forked child (a pre-forking
server builds the app in its master: threads do not survive ``fork``, the outboxes do).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from seawall.observability.alerts.outbox import Outbox
from seawall.observability.alerts.sinks import Sink

__all__ = ["Worker", "lane", "worker"]

IDLE = 1.0
"""Seconds the worker sleeps at most between two looks (it re-sends firing alerts then)."""


class Worker:
    """Pumps the registered outboxes off every request's thread; their sinks deliver on lanes."""

    def __init__(self) -> None:
        self._outboxes: tuple[Outbox, ...] = ()
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def add(self, outbox: Outbox) -> None:
        """Serve ``outbox`` from now on (its :meth:`Outbox.put` wakes this worker)."""
        with self._lock:
            if outbox not in self._outboxes:
                self._outboxes = (*self._outboxes, outbox)
        outbox.wake = self.wake
        outbox.dispatch = lane
        self.wake()

    def remove(self, outbox: Outbox) -> None:
        """Pump ``outbox`` no more: no new batch starts; one in flight ends on its lane."""
        with self._lock:
            self._outboxes = tuple(o for o in self._outboxes if o is not outbox)

    def wake(self) -> None:
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._start()
        self._wakeup.set()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._wakeup = threading.Event()
            self._thread = threading.Thread(target=self._run, name="seawall-alerts", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wakeup.clear()
            wait = IDLE
            for outbox in self._outboxes:
                try:
                    due = outbox.pump()
                except Exception:
                    continue
                if due is not None:
                    wait = min(wait, due)
            if wait > 0:
                self._wakeup.wait(wait)


def lane(sink: Sink, deliver: Callable[[], None]) -> None:
    """Run one batch's delivery on a thread of ``sink``'s own, ending with it."""
    name = f"seawall-alert-lane-{sink.name}"
    threading.Thread(target=deliver, name=name, daemon=True).start()


_WORKER = Worker()


def worker() -> Worker:
    """The process-wide worker."""
    return _WORKER
