"""The alerts waiting for delivery: bounded, batched per sink, retried with backoff, one
batch in flight per sink.

:meth:`Outbox.put` is all a request pays (an append under a lock). :meth:`Outbox.pump` takes
what is due and hands each batch to :attr:`Outbox.dispatch`: inline by default (a test's pump,
with a fake clock), on the sink's own lane thread under the process's alert worker
(:mod:`~seawall.observability.alerts.worker`), so a sink that hangs delays no other sink. A
sink with a batch in flight gets no other before that one ends, which keeps its order, its
batching and the lane threads (one per sink at most). When more than ``size`` alerts wait, the
oldest is dropped and counted in :attr:`Outbox.dropped`; the batches in flight are apart from
the queue, at most ``MAX_BATCH`` alerts per sink (:attr:`Outbox.in_flight`). A forked child
(a pre-forking server's worker) starts without the parent's batches in flight and its lock.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from seawall.clock import Clock, monotonic
from seawall.observability.alerts.http import DeliveryError
from seawall.observability.alerts.model import Alert
from seawall.observability.alerts.sinks import Sink

__all__ = ["MAX_BATCH", "Dispatch", "Outbox", "inline"]

MAX_BATCH = 50
MAX_BACKOFF = 60.0

Dispatch = Callable[[Sink, Callable[[], None]], None]
"""Runs one batch's delivery (the callable) for ``sink``: now, or on another thread."""


def inline(sink: Sink, deliver: Callable[[], None]) -> None:
    """Deliver in the pumping thread (the default: a test's synchronous pump)."""
    deliver()


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
        self._in_flight: dict[int, int] = {}  # id(sink) -> alerts of its batch in flight
        self._lock = threading.Lock()
        _forks.add(self)
        self._counters = _Counters()
        self.wake: Callable[[], None] = lambda: None
        """Set by the worker: called after :meth:`put` and after each delivery ends."""
        self.dispatch: Dispatch = inline
        """Set by the worker to start each batch on its sink's lane thread."""
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
    def in_flight(self) -> int:
        """Alerts of the batches being delivered now (not in ``len()``)."""
        with self._lock:
            return sum(self._in_flight.values())

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

    @property
    def retried(self) -> int:
        """Failed attempts that were scheduled again."""
        return self._counters.retried

    def delivered_to(self, sink: str) -> int:
        """Alerts delivered to the sinks named ``sink`` (``webhook``, ``slack``, ...)."""
        return self._counters.by_sink.get(sink, 0)

    def pump(self) -> float | None:
        """Hand every batch due now to :attr:`dispatch`; seconds until the next one is due
        (a sink in flight is due again when its delivery ends and wakes the worker), or
        ``None``."""
        now = self.clock()
        self.on_pump(now)
        for sink, alerts, attempt in self._take(now):
            try:
                self.dispatch(sink, partial(self._deliver, sink, alerts, attempt))
            except Exception as exc:  # no lane to run it (no thread to start): a failed attempt
                self._finish(sink, alerts, attempt, exc)
        return self._next_due(self.clock())

    def _take(self, now: float) -> list[tuple[Sink, list[Alert], int]]:
        """At most one batch per sink not in flight: its oldest due retry, else its waiting
        alerts (up to ``MAX_BATCH``) when its batching allows."""
        batches: list[tuple[Sink, list[Alert], int]] = []
        with self._lock:
            busy = self._in_flight
            for retry in list(self._retries):
                if retry.due <= now and id(retry.sink) not in busy:
                    self._retries.remove(retry)
                    busy[id(retry.sink)] = len(retry.alerts)
                    batches.append((retry.sink, retry.alerts, retry.attempt))
            grouped: dict[int, tuple[Sink, list[Alert]]] = {}
            kept: deque[tuple[Sink, Alert]] = deque()
            for sink, alert in self._waiting:
                entry = grouped.get(id(sink))
                if entry is None:
                    if id(sink) in busy or self._next.get(id(sink), 0.0) > now:
                        kept.append((sink, alert))
                        continue
                    entry = grouped[id(sink)] = (sink, [])
                if len(entry[1]) < MAX_BATCH:
                    entry[1].append(alert)
                else:
                    kept.append((sink, alert))
            self._waiting = kept
            for key, (sink, alerts) in grouped.items():
                busy[key] = len(alerts)
                batches.append((sink, alerts, 0))
                if sink.batch_interval:
                    self._next[key] = now + sink.batch_interval
        return batches

    def _deliver(self, sink: Sink, alerts: list[Alert], attempt: int) -> None:
        try:
            sink.deliver(alerts, self.timeout)
        except Exception as exc:  # a sink's failure, of any kind, is retried or counted
            self._finish(sink, alerts, attempt, exc)
        else:
            self._finish(sink, alerts, attempt, None)

    def _finish(
        self, sink: Sink, alerts: list[Alert], attempt: int, error: Exception | None
    ) -> None:
        """Count the attempt (or schedule its retry), free the sink and wake the worker."""
        with self._lock:
            self._in_flight.pop(id(sink), None)
            if error is None:
                self._counters.delivered += len(alerts)
                by_sink = self._counters.by_sink
                by_sink[sink.name] = by_sink.get(sink.name, 0) + len(alerts)
            elif (not isinstance(error, DeliveryError) or error.retry) and attempt < self.retries:
                delay = min(self.backoff * 2**attempt, MAX_BACKOFF)
                self._retries.append(_Retry(sink, alerts, attempt + 1, self.clock() + delay))
                self._counters.retried += 1
                while self._queued() > self.size:  # what arrived meanwhile filled the queue
                    self._drop_oldest()
            else:
                self._counters.failed += len(alerts)
        self.wake()

    def _next_due(self, now: float) -> float | None:
        with self._lock:
            busy = self._in_flight
            times = [r.due for r in self._retries if id(r.sink) not in busy]
            times += [self._next.get(id(s), now) for s, _ in self._waiting if id(s) not in busy]
        return max(min(times) - now, 0.0) if times else None

    def _after_fork(self) -> None:
        """The parent's lanes deliver what it had in flight (and may have held the lock): the
        child's sinks are free, its lock new."""
        self._lock = threading.Lock()
        self._in_flight.clear()


_forks: weakref.WeakSet[Outbox] = weakref.WeakSet()


def _forget_after_fork() -> None:
    for outbox in list(_forks):
        outbox._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
