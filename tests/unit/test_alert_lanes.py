"""Sinks are independent: each batch is delivered on its sink's lane, one in flight per sink,
so a sink that hangs delays no other, and the counters stay exact under many threads. Real
HTTP on 127.0.0.1; the scheduling itself with a fake clock and a dispatch that holds batches."""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import structlog

from seawall.clock import FakeClock
from seawall.observability.alerts import Alert, AlertmanagerSink, Outbox, Sink, WebhookSink
from seawall.observability.alerts.worker import Worker, worker
from seawall.server.pipeline import Pipeline
from tests.polling import settle
from tests.receiver import Received, receiver


class Recorder:
    """A sink that keeps what it is given."""

    batch_interval = 0.0
    refresh: float | None = None

    def __init__(self, name: str, failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.keys: list[str] = []

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("refused")
        self.keys.extend(a.key for a in alerts)


class Held:
    """A dispatch that keeps each batch's delivery until the test runs it (a lane in flight)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, Callable[[], None]]] = []

    def __call__(self, sink: Sink, deliver: Callable[[], None]) -> None:
        self.jobs.append((sink.name, deliver))

    def run(self, name: str) -> None:
        (job,) = [j for j in self.jobs if j[0] == name]
        self.jobs.remove(job)
        job[1]()


class Watched:
    """Delivers through ``sink`` and records the most deliveries it ever had at once."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.name = sink.name
        self.batch_interval = sink.batch_interval
        self.refresh = sink.refresh
        self.open = 0
        self.most_open = 0
        self._lock = threading.Lock()

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        with self._lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            self.sink.deliver(alerts, timeout)
        finally:
            with self._lock:
                self.open -= 1


def _drop(logger: Any, name: str, event: Any) -> Any:
    raise structlog.DropEvent


def alert(key: str) -> Alert:
    return Alert("new_error", key, "warning", f"alert {key}")


def lanes() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("seawall-alert-lane-")]


def test_a_sink_in_flight_gets_no_second_batch_and_is_not_due_meanwhile() -> None:
    """While a sink's batch is in flight the others go on, its new alerts wait (in order) and
    the pump does not report them due (the worker would spin); its end frees the sink."""
    slow, fast = Recorder("slow"), Recorder("fast")
    held = Held()
    outbox = Outbox([slow, fast], clock=FakeClock())
    outbox.dispatch = held
    outbox.put(alert("a1"))
    assert outbox.pump() is None
    assert [name for name, _ in held.jobs] == ["slow", "fast"]
    held.run("fast")
    outbox.put(alert("a2"))
    outbox.put(alert("a3"))
    assert outbox.pump() is None  # only slow waits, and it is in flight
    assert [name for name, _ in held.jobs] == ["slow", "fast"]
    held.run("fast")
    assert fast.keys == ["a1", "a2", "a3"]
    assert (len(outbox), outbox.in_flight) == (2, 1)
    held.run("slow")
    assert outbox.pump() is None
    held.run("slow")
    assert slow.keys == ["a1", "a2", "a3"]
    assert (outbox.delivered, len(outbox), outbox.in_flight) == (6, 0, 0)


def test_a_retry_that_comes_due_while_its_sink_is_in_flight_waits_for_it() -> None:
    clock = FakeClock()
    sink = Recorder("sink", failures=1)
    outbox = Outbox([sink], backoff=1.0, clock=clock)
    outbox.put(alert("a1"))
    assert outbox.pump() == 1.0  # failed inline: retried in 1 s
    held = Held()
    outbox.dispatch = held
    outbox.put(alert("a2"))
    outbox.pump()  # a2 goes first: the retry is not due
    clock.advance(1.0)
    assert outbox.pump() is None  # the retry is due, but its sink is busy
    assert len(held.jobs) == 1
    held.run("sink")
    outbox.pump()
    held.run("sink")
    assert sink.keys == ["a2", "a1"]
    assert (outbox.delivered, outbox.retried, outbox.failed) == (2, 1, 0)


def test_a_lane_that_cannot_start_is_a_failed_attempt_retried_later() -> None:
    clock = FakeClock()
    sink = Recorder("sink")

    def no_thread(sink: Sink, deliver: Callable[[], None]) -> None:
        raise RuntimeError("can't start new thread")

    outbox = Outbox([sink], backoff=1.0, clock=clock)
    outbox.dispatch = no_thread
    outbox.put(alert("a1"))
    assert outbox.pump() == 1.0
    assert (outbox.retried, outbox.in_flight, len(outbox)) == (1, 0, 1)
    clock.advance(1.0)
    outbox.dispatch = lambda sink, deliver: deliver()
    outbox.pump()
    assert sink.keys == ["a1"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_forgets_the_batches_its_parent_has_in_flight() -> None:
    """Forked while a batch is in flight and a lane holds the outbox's lock: the child's sink
    is free (the parent's lane delivers that batch) and its lock is not left held."""
    sink = Recorder("sink")
    held = Held()
    outbox = Outbox([sink], clock=FakeClock())
    outbox.dispatch = held
    outbox.put(alert("a1"))
    outbox.pump()
    read, write = os.pipe()
    with outbox._lock:  # as a lane counting its delivery at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: deliver inline, report, and leave at once
            try:
                outbox.dispatch = lambda sink, deliver: deliver()
                outbox.put(alert("a2"))
                outbox.pump()
                os.write(write, ",".join([*sink.keys, str(outbox.in_flight)]).encode())
            finally:
                os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 30)
        child = os.read(read, 1000).decode() if ready else "stuck"
    finally:
        os.close(read)
        if child == "stuck":
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert child == "a2,0"
    assert outbox.in_flight == 1  # the parent's own batch is still its lane's


def test_a_hanging_sink_delays_no_other_sink() -> None:
    """A webhook that accepts and never answers (30 s timeout) beside a healthy one: alert
    after alert reaches the healthy one promptly while the first delivery still hangs, the
    hanging sink never gets a second delivery at once, its backlog stays within the queue
    (oldest dropped first), and closing ends the lanes."""
    with receiver(hang=True) as hanging, receiver() as healthy:
        settings = {
            "alerts": {
                "sinks": [
                    {"type": "webhook", "url": hanging.url},
                    {"type": "webhook", "url": healthy.url},
                ],
                "timeout": 30,
                "queue_size": 3,
            }
        }
        pipeline = Pipeline(settings, logger=structlog.wrap_logger(None, processors=[_drop]))
        outbox = pipeline.alerts.outbox
        started = time.monotonic()
        try:
            for i in range(5):
                try:
                    raise RuntimeError("boom")
                except RuntimeError as exc:
                    pipeline.problem(exc, method="GET", path=f"/r{i}", route=f"GET /r{i}")
                assert len(healthy.wait_for(i + 1, timeout=10)) == i + 1, f"alert {i}"
                # the first alert's, still unanswered (its lane may connect after the other's)
                assert len(hanging.wait_for(1, timeout=10)) == 1
                assert hanging.open == 1
            assert time.monotonic() - started < 30  # all within the one hang
            told = [a["key"] for r in healthy.requests for a in r.json()["alerts"]]
            assert len(set(told)) == 5  # one new error per route, each told once
            # the healthy lane counts its delivery just after the receiver has it
            assert settle(lambda: outbox.delivered_to("webhook") == 5), outbox.delivered
            # alerts 3 and 4 each pushed the hanging sink's oldest waiting alert out
            assert (outbox.in_flight, len(outbox), outbox.dropped, outbox.failed) == (1, 2, 2, 0)
        finally:
            pipeline.close()
        assert outbox not in worker()._outboxes
        hanging.release.set()  # the hung delivery ends (the connection closes unanswered)
        assert settle(lambda: not lanes()), lanes()
        assert outbox.in_flight == 0
    assert hanging.most_open == 1


def test_many_threads_across_three_sinks_are_counted_exactly() -> None:
    """8 threads put 100 alerts each at once for three sinks on their lanes, one refusing its
    first three deliveries: every alert arrives once per sink, in each thread's order where
    nothing was retried, one delivery at a time per sink, and the counters add up."""
    threads, each = 8, 100
    with receiver() as first, receiver(statuses=[503] * 3) as second, receiver() as manager:
        sinks = [
            Watched(WebhookSink(first.url)),
            Watched(WebhookSink(second.url)),
            Watched(AlertmanagerSink(manager.url)),
        ]
        outbox = Outbox(sinks, size=10_000, timeout=10, backoff=0.01)
        pump = Worker()
        pump.add(outbox)
        start = threading.Barrier(threads)

        def put(t: int) -> None:
            start.wait()
            for i in range(each):
                outbox.put(alert(f"t{t}-{i:03d}"))

        putters = [threading.Thread(target=put, args=(t,)) for t in range(threads)]
        total = threads * each
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # switch threads often: races show up
        try:
            for thread in putters:
                thread.start()
            for thread in putters:
                thread.join()
            assert settle(lambda: outbox.delivered == 3 * total), outbox.delivered
        finally:
            sys.setswitchinterval(interval)
            pump.remove(outbox)
        assert settle(lambda: not lanes()), lanes()

    def keys(requests: list[Received], manager: bool = False) -> list[str]:
        if manager:
            return [a["labels"]["key"] for r in requests for a in r.json()]
        return [a["key"] for r in requests for a in r.json()["alerts"]]

    expected = {f"t{t}-{i:03d}" for t in range(threads) for i in range(each)}
    in_order = [keys(first.requests), keys(manager.requests, manager=True)]
    answered = keys(second.requests[3:])  # the first three were refused, then retried
    for got in [*in_order, answered]:
        assert sorted(got) == sorted(expected)
    for got in in_order:
        for t in range(threads):
            mine = [k for k in got if k.startswith(f"t{t}-")]
            assert mine == sorted(mine)
    assert [s.most_open for s in sinks] == [1, 1, 1]
    assert (outbox.delivered_to("webhook"), outbox.delivered_to("alertmanager")) == (
        2 * total,
        total,
    )
    assert (outbox.retried, outbox.failed, outbox.dropped) == (3, 0, 0)
    assert (len(outbox), outbox.in_flight) == (0, 0)
