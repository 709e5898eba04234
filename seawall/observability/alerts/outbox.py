"""The alerts waiting for delivery: bounded, batched per sink, retried with backoff.

:meth:`Outbox.put` is all a request pays (an append under a lock). :meth:`Outbox.pump`
delivers what is due and is run by the process's one alert worker
(:mod:`~seawall.observability.alerts.worker`), or by a test with a fake clock. When more than
``size`` deliveries wait, the oldest is dropped and counted in :attr:`Outbox.dropped`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from seawall.clock import Clock, monotonic
from seawall.observability.alerts.http import DeliveryError
from seawall.observability.alerts.model import Alert
from seawall.observability.alerts.sinks import Sink

__all__ = ["Outbox"]

MAX_BATCH = 50
MAX_BACKOFF = 60.0


@dataclass(slots=True)
class _Retry:
    sink: Sink
    alerts: list[Alert]
    attempt: int
    due: float


@dataclass(slots=True)
class _Counters:
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    retried: int = 0
    by_sink: dict[str, int] = field(default_factory=dict)


class Outbox:
    """Alerts for ``sinks``; ``timeout`` per attempt, ``retries`` more after a failure."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        size: int = 1000,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 1.0,
        clock: Clock = monotonic,
    ) -> None:
        self.sinks = tuple(sinks)
        self.size = size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.clock = clock
        self._waiting: deque[tuple[Sink, Alert]] = deque()
        self._retries: list[_Retry] = []
        self._next: dict[int, float] = {}  # id(sink) -> earliest next delivery (batching)
        self._lock = threading.Lock()
        self._counters = _Counters()
        self.wake: Callable[[], None] = lambda: None
        """Set by the worker: called after :meth:`put` so the worker wakes up."""
        self.on_pump: Callable[[float], None] = lambda now: None
        """Called at the start of each :meth:`pump` (the engine re-sends firing alerts)."""

    def put(self, alert: Alert, sinks: Sequence[Sink] | None = None) -> None:
        """Queue ``alert`` for every sink (or ``sinks``); never blocks on delivery."""
        targets = self.sinks if sinks is None else sinks
        if not targets:
            return
        with self._lock:
            for sink in targets:
                while (self._waiting or self._retries) and self._queued() >= self.size:
                    self._drop_oldest()  # a retry counts as the alerts of its batch
                self._waiting.append((sink, alert))
        self.wake()

    def _drop_oldest(self) -> None:
        if self._waiting:
            self._waiting.popleft()
            self._counters.dropped += 1
        elif self._retries:
            self._counters.dropped += len(self._retries.pop(0).alerts)

    def _queued(self) -> int:
        """Alerts waiting or waiting to be retried (a retry holds a whole batch)."""
        return len(self._waiting) + sum(len(r.alerts) for r in self._retries)

    def __len__(self) -> int:
        with self._lock:
            return self._queued()

    @property
    def dropped(self) -> int:
        """Alerts dropped because the queue was full."""
        return self._counters.dropped

    @property
    def delivered(self) -> int:
        return self._counters.delivered

    @property
    def failed(self) -> int:
        """Alerts given up on after their last retry (or refused for good by the sink)."""
        return self._counters.failed

    def delivered_to(self, sink: str) -> int:
        """Alerts delivered to the sinks named ``sink`` (``webhook``, ``slack``, ...)."""
        return self._counters.by_sink.get(sink, 0)

    def pump(self) -> float | None:
        """Deliver everything due now, in this thread; seconds until the next due, or ``None``."""
        now = self.clock()
        self.on_pump(now)
        for sink, alerts, attempt in self._take(now):
            self._deliver(sink, alerts, attempt)
        return self._next_due(self.clock())

    def _take(self, now: float) -> list[tuple[Sink, list[Alert], int]]:
        batches: list[tuple[Sink, list[Alert], int]] = []
        with self._lock:
            due = [r for r in self._retries if r.due <= now]
            self._retries = [r for r in self._retries if r.due > now]
            batches.extend((r.sink, r.alerts, r.attempt) for r in due)
            grouped: dict[int, tuple[Sink, list[Alert]]] = {}
            kept: deque[tuple[Sink, Alert]] = deque()
            for sink, alert in self._waiting:
                ready = self._next.get(id(sink), 0.0) <= now
                entry = grouped.setdefault(id(sink), (sink, []))
                if ready and len(entry[1]) < MAX_BATCH:
                    entry[1].append(alert)
                else:
                    kept.append((sink, alert))
            self._waiting = kept
            for sink, alerts in grouped.values():
                if alerts:
                    batches.append((sink, alerts, 0))
                    if sink.batch_interval:
                        self._next[id(sink)] = now + sink.batch_interval
        return batches

    def _deliver(self, sink: Sink, alerts: list[Alert], attempt: int) -> None:
        try:
            sink.deliver(alerts, self.timeout)
        except Exception as exc:  # a sink's failure, of any kind, is retried or counted
            retry = not isinstance(exc, DeliveryError) or exc.retry
            with self._lock:
                if retry and attempt < self.retries:
                    delay = min(self.backoff * 2**attempt, MAX_BACKOFF)
                    self._retries.append(_Retry(sink, alerts, attempt + 1, self.clock() + delay))
                    self._counters.retried += 1
                else:
                    self._counters.failed += len(alerts)
            return
        with self._lock:
            self._counters.delivered += len(alerts)
            by_sink = self._counters.by_sink
            by_sink[sink.name] = by_sink.get(sink.name, 0) + len(alerts)

    def _next_due(self, now: float) -> float | None:
        with self._lock:
            times = [r.due for r in self._retries]
            times += [self._next.get(id(sink), now) for sink, _ in self._waiting]
        return max(min(times) - now, 0.0) if times else None
