"""Recovery actions: run off the request path when the breaker opens, once per cooldown, at most
max_attempts per outage; dry_run only publishes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import seawall
from seawall.client.recovery import BackgroundRunner, Recovery
from seawall.clock import FakeClock
from seawall.config.schema import RecoverySettings
from seawall.observability.events import EventBus, RecoveryExhausted, RecoveryRan
from seawall.resilience.breaker import BreakerEvent, State


class Inline(BackgroundRunner):
    """Runs each job at once, in the caller's thread: the decisions, without a thread."""

    def submit(self, job: Any) -> bool:
        job()
        return True


def recovery(action: Any, clock: FakeClock, **kw: Any) -> tuple[Recovery, list[Any]]:
    bus = EventBus()
    seen: list[Any] = []
    bus.subscribe(RecoveryRan, seen.append)
    bus.subscribe(RecoveryExhausted, seen.append)
    settings = RecoverySettings(action, "shop.db.reset_pool", **kw)
    return Recovery("db", settings, bus, clock=clock, runner=Inline()), seen


def opened(reason: str = "failure_rate") -> BreakerEvent:
    return BreakerEvent("db", State.CLOSED, State.OPEN, 0.0, reason)


def test_runs_at_most_once_per_cooldown() -> None:
    """Openings within the cooldown do not run the action again."""
    clock = FakeClock(0.0)
    calls: list[int] = []
    r, seen = recovery(lambda: calls.append(1), clock, cooldown=120, max_attempts=5)
    r.on_transition(opened())
    clock.advance(60)
    r.on_transition(opened("probe_failed"))
    assert len(calls) == 1
    clock.advance(61)
    r.on_transition(opened("probe_failed"))
    assert len(calls) == 2
    assert [(e.attempt, e.outcome) for e in seen] == [(1, "succeeded"), (2, "succeeded")]


def test_max_attempts_per_outage_then_exhausted_once() -> None:
    """After max_attempts runs, further openings publish exhaustion once; a close resets it."""
    clock = FakeClock(0.0)
    calls: list[int] = []

    def failing() -> None:
        calls.append(1)
        raise OSError("pool is wedged")

    r, seen = recovery(failing, clock, cooldown=1, max_attempts=2)
    for _ in range(5):
        r.on_transition(opened())
        clock.advance(2)
    assert len(calls) == 2
    assert [type(e).__name__ for e in seen] == ["RecoveryRan", "RecoveryRan", "RecoveryExhausted"]
    assert seen[0].outcome == "failed"
    assert seen[0].error == "OSError"
    r.on_transition(BreakerEvent("db", State.HALF_OPEN, State.CLOSED, 0.0, "probes_succeeded"))
    r.on_transition(opened())
    assert len(calls) == 3


def test_dry_run_publishes_without_calling() -> None:
    clock = FakeClock(0.0)
    calls: list[int] = []
    r, seen = recovery(lambda: calls.append(1), clock, dry_run=True)
    r.on_transition(opened())
    assert calls == []
    assert seen[0].outcome == "dry_run"


def test_an_opening_breaker_runs_the_action_on_a_background_thread() -> None:
    """Through a dependency: the breaker opens, the action runs on seawall's recovery thread
    (never the caller's) and the run is published."""
    threads: list[str] = []
    published = threading.Event()
    outcomes: list[str] = []

    def on_ran(event: RecoveryRan) -> None:
        outcomes.append(event.outcome)
        published.set()

    deps = seawall.Dependencies({"dependencies": {"db": {
        "breaker": {"minimum_calls": 1},
        "recovery": {"action": lambda: threads.append(threading.current_thread().name),
                     "cooldown": 60}}}})  # fmt: skip
    deps.events.subscribe(RecoveryRan, on_ran)

    def down() -> None:
        raise ConnectionError

    with pytest.raises(ConnectionError):
        deps["db"].call(down)
    assert published.wait(10)
    assert threads == ["seawall recovery"]
    assert outcomes == ["succeeded"]


def test_a_full_runner_queue_drops_the_run() -> None:
    """A stuck action never piles up work: the bounded queue refuses more."""
    runner = BackgroundRunner(limit=1)
    gate = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        gate.wait(10)

    assert runner.submit(stuck)
    assert started.wait(10)
    assert runner.submit(lambda: None)  # queued behind the stuck one
    assert not runner.submit(lambda: None)  # the queue (1) is full
    gate.set()
