"""Threads and tasks at once: probe limits, cancellation, exactly-once events, no lock in calls.

Coordination uses events and barriers; the only timeouts are safety nets against a hang.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from seawall.clock import FakeClock
from seawall.config.schema import BreakerSettings
from seawall.resilience.breaker import BreakerEvent, CircuitBreaker, Permit, State

SAFETY = 10.0  # seconds; only reached if the behaviour under test is broken


@pytest.fixture(autouse=True)
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond so races get a real chance to happen."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


class YieldingClock(FakeClock):
    """A fake clock that lets other threads run on every reading, inside critical sections too."""

    __slots__ = ()

    def __call__(self) -> float:
        time.sleep(0)  # releases the GIL: a missing lock would show as a race
        return super().__call__()


def make(clock: FakeClock, half_open_calls: int = 3) -> CircuitBreaker:
    settings = BreakerSettings(
        window_type="count",
        window=10,
        minimum_calls=2,
        open_for=10.0,
        jitter=0.0,
        half_open_calls=half_open_calls,
    )
    return CircuitBreaker("GET /things", settings, clock=clock)


def open_then_wait(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """Trip the breaker and let open_for pass, without reading the state (half-open is lazy)."""
    while breaker.try_acquire() is not None:
        breaker.acquire().failure()
    clock.advance(breaker.settings.open_for)


def test_200_threads_and_200_tasks_admit_exactly_half_open_calls() -> None:
    """400 simultaneous callers on a breaker due to half-open get exactly half_open_calls probes."""
    clock = YieldingClock()
    breaker = make(clock, half_open_calls=3)
    open_then_wait(breaker, clock)
    events: list[BreakerEvent] = []
    breaker.add_listener(events.append)
    admitted: list[Permit] = []
    go = threading.Event()

    def thread_caller() -> None:
        go.wait(SAFETY)
        permit = breaker.try_acquire()
        if permit is not None:
            admitted.append(permit)

    async def task_caller(start: asyncio.Event) -> None:
        await start.wait()
        permit = breaker.try_acquire()
        if permit is not None:
            admitted.append(permit)

    async def main() -> None:
        start = asyncio.Event()
        tasks = [asyncio.create_task(task_caller(start)) for _ in range(200)]
        await asyncio.sleep(0)  # every task is now waiting on start
        go.set()
        start.set()
        await asyncio.gather(*tasks)

    threads = [threading.Thread(target=thread_caller) for _ in range(200)]
    for thread in threads:
        thread.start()
    asyncio.run(main())
    for thread in threads:
        thread.join(SAFETY)
    assert len(admitted) == 3
    assert len(set(map(id, admitted))) == 3
    assert [(e.old_state, e.new_state) for e in events] == [(State.OPEN, State.HALF_OPEN)]


def test_concurrent_failures_fire_exactly_one_open_event() -> None:
    """Many threads failing at once trip the breaker once and fire one event."""
    clock = YieldingClock()
    breaker = make(clock)
    permits = [breaker.acquire() for _ in range(100)]
    events: list[BreakerEvent] = []
    breaker.add_listener(events.append)
    barrier = threading.Barrier(len(permits))

    def report(permit: Permit) -> None:
        barrier.wait(SAFETY)
        permit.failure()

    threads = [threading.Thread(target=report, args=(p,)) for p in permits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SAFETY)
    assert [(e.old_state, e.new_state) for e in events] == [(State.CLOSED, State.OPEN)]


def test_cancelled_probe_frees_its_slot() -> None:
    """A task cancelled while probing inside call_async gives its half-open slot back."""
    clock = YieldingClock()
    breaker = make(clock, half_open_calls=1)
    open_then_wait(breaker, clock)

    async def main() -> None:
        entered = asyncio.Event()

        async def hang() -> None:
            entered.set()
            await asyncio.Event().wait()

        task = asyncio.create_task(breaker.call_async(hang))
        await entered.wait()
        assert breaker.try_acquire() is None  # the only slot is taken
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert breaker.try_acquire() is not None

    asyncio.run(main())
    assert breaker.state is State.HALF_OPEN


def test_a_slow_call_does_not_block_other_callers() -> None:
    """While one thread is inside call(), another acquires and reports without waiting."""
    clock = YieldingClock()
    breaker = make(clock)
    inside, release, other_done = threading.Event(), threading.Event(), threading.Event()

    def slow() -> str:
        inside.set()
        release.wait(SAFETY)
        return "done"

    def other() -> None:
        breaker.acquire().failure()
        other_done.set()

    worker = threading.Thread(target=breaker.call, args=(slow,))
    worker.start()
    assert inside.wait(SAFETY)
    assert not breaker._lock.locked()
    threading.Thread(target=other).start()
    assert other_done.wait(SAFETY)  # times out only if the lock is held during slow()
    assert worker.is_alive()
    release.set()
    worker.join(SAFETY)
    assert breaker.snapshot().calls == 2


def test_a_slow_probe_does_not_block_half_open_admission() -> None:
    """While a probe runs, other callers are answered (rejected) at once, not queued on a lock."""
    clock = YieldingClock()
    breaker = make(clock, half_open_calls=1)
    open_then_wait(breaker, clock)
    inside, release, answered = threading.Event(), threading.Event(), threading.Event()
    answers: list[Permit | None] = []

    def slow_probe() -> None:
        inside.set()
        release.wait(SAFETY)

    def other() -> None:
        answers.append(breaker.try_acquire())
        answered.set()

    worker = threading.Thread(target=breaker.call, args=(slow_probe,))
    worker.start()
    assert inside.wait(SAFETY)
    threading.Thread(target=other).start()
    assert answered.wait(SAFETY)
    assert answers == [None]
    release.set()
    worker.join(SAFETY)
    assert breaker.state is State.CLOSED
