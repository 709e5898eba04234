"""TimeoutScheduler: coarse-bucket route timeouts that really cancel, and only their own task."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from seawall.deadline import deadline_scope, expired, remaining
from seawall.errors.exceptions import RequestTimeoutError
from seawall.timeouts import (
    DEFAULT_RESOLUTION,
    TimeoutScheduler,
    get_scheduler,
    running_scheduler,
    timeout,
)

SHORT = 0.05


def test_overdue_block_is_cancelled_with_request_timeout_error() -> None:
    """A block still running after its timeout raises RequestTimeoutError naming the route."""

    async def scenario() -> float:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError) as info:
            async with timeout(SHORT, route="GET /slow"):
                await asyncio.sleep(10)
        assert info.value.route == "GET /slow"
        assert info.value.status == 504
        return time.monotonic() - started

    assert SHORT <= asyncio.run(scenario()) < 1.0


def test_block_that_finishes_in_time_is_left_alone() -> None:
    """A fast block returns normally and is never cancelled later."""

    async def scenario() -> None:
        task = asyncio.current_task()
        assert task is not None
        async with timeout(SHORT) as entry:
            await asyncio.sleep(0)
        assert not entry.cancelled
        assert get_scheduler().pending == 0
        await asyncio.sleep(SHORT + 2 * DEFAULT_RESOLUTION)  # past the deadline: no stray cancel
        assert task.cancelling() == 0

    asyncio.run(scenario())


def test_outer_cancel_propagates_as_cancelled_error() -> None:
    """A cancel from outside (client disconnect) is not turned into a timeout."""

    async def scenario() -> None:
        async def handler() -> None:
            async with timeout(10):
                await asyncio.sleep(10)

        task = asyncio.create_task(handler())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())


def test_outer_cancel_landing_with_the_timeout_still_propagates() -> None:
    """When an outer cancel and the timeout hit the same task together, CancelledError wins."""

    entry = timeout(SHORT)

    async def scenario() -> None:
        async def handler() -> None:
            async with entry:
                await asyncio.sleep(10)

        task = asyncio.create_task(handler())
        await asyncio.sleep(0)
        time.sleep(SHORT + 2 * DEFAULT_RESOLUTION)  # block the loop: the timer is due now
        await asyncio.sleep(0)  # next loop pass: this step, then the due timer, then the handler
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert entry.cancelled  # the timeout did fire as well

    asyncio.run(scenario())


def test_inner_timeout_leaves_the_outer_block_running() -> None:
    """A nested timeout that fires is converted, and the outer block carries on uncancelled."""

    async def scenario() -> str:
        async with timeout(10):
            with pytest.raises(RequestTimeoutError):
                async with timeout(SHORT):
                    await asyncio.sleep(10)
            await asyncio.sleep(0)
            return "outer finished"

    assert asyncio.run(scenario()) == "outer finished"


def test_the_block_runs_under_its_deadline_unless_an_outer_one_is_sooner() -> None:
    """Inside the block ``remaining()`` tells the time left; an outer deadline that is sooner
    stays in force; each block restores the deadline it found, also when it times out."""

    async def overrun() -> float | None:
        async with timeout(SHORT):
            left = remaining()
            await asyncio.sleep(10)
        return left

    async def scenario() -> list[float | None]:
        seen = [remaining()]
        async with timeout(30):
            assert not expired()
            seen.append(remaining())
            with deadline_scope(1.0):
                async with timeout(60):
                    seen.append(remaining())
            with pytest.raises(RequestTimeoutError):
                await overrun()
            seen.append(remaining())
        seen.append(remaining())
        return seen

    before, inside, under_outer, after_expiry, after = asyncio.run(scenario())
    assert before is None
    assert after is None
    assert inside is not None
    assert 29 < inside <= 30
    assert under_outer is not None
    assert under_outer <= 1.0
    assert after_expiry is not None
    assert 28 < after_expiry <= 30


def test_none_means_no_timeout() -> None:
    """timeout(None) registers nothing."""

    async def scenario() -> None:
        async with timeout(None):
            assert get_scheduler().pending == 0

    asyncio.run(scenario())


def test_only_overdue_tasks_are_cancelled() -> None:
    """Of several requests, the scheduler cancels the overdue one and spares the others."""

    async def request(seconds: float, work: float) -> str:
        try:
            async with timeout(seconds):
                await asyncio.sleep(work)
        except RequestTimeoutError:
            return "timed out"
        return "ok"

    async def scenario() -> list[str]:
        return list(
            await asyncio.gather(request(SHORT, 10), request(10, SHORT * 2), request(10, 0))
        )

    assert asyncio.run(scenario()) == ["timed out", "ok", "ok"]


def count_timers(loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every ``loop.call_at`` the scheduler makes."""
    armed: list[float] = []
    call_at = loop.call_at

    def recording_call_at(when: float, callback: Callable[..., Any], *args: Any) -> Any:
        armed.append(when)
        return call_at(when, callback, *args)

    monkeypatch.setattr(loop, "call_at", recording_call_at)
    return armed


def test_requests_that_finish_in_time_arm_no_new_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many register/unregister cycles with the same timeout arm the loop timer once."""

    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        armed = count_timers(loop, monkeypatch)
        scheduler = TimeoutScheduler(loop, resolution=1.0)
        for _ in range(1000):
            async with scheduler.timeout(30):
                pass
        return armed

    assert len(asyncio.run(scenario())) == 1


def test_timer_is_rearmed_only_for_an_earlier_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A later deadline reuses the armed timer; an earlier one moves it."""

    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        armed = count_timers(loop, monkeypatch)
        scheduler = TimeoutScheduler(loop, resolution=1.0)
        async with scheduler.timeout(30), scheduler.timeout(60):
            assert len(armed) == 1
            async with scheduler.timeout(5):
                pass
        return armed

    armed = asyncio.run(scenario())
    assert len(armed) == 2
    assert armed[1] < armed[0]


def test_each_loop_has_its_own_scheduler() -> None:
    """get_scheduler returns one scheduler per running loop."""

    async def current() -> TimeoutScheduler:
        assert get_scheduler() is get_scheduler()
        return get_scheduler()

    assert asyncio.run(current()) is not asyncio.run(current())


def test_running_scheduler_follows_the_loop_of_each_thread() -> None:
    """The running loop's scheduler, never another loop's: loops run one after another in a
    thread, and loops running at once in many threads."""

    async def pair() -> tuple[TimeoutScheduler, TimeoutScheduler]:
        return running_scheduler()[0], get_scheduler()

    first, expected = asyncio.run(pair())
    assert first is expected
    second, expected = asyncio.run(pair())
    assert second is expected
    assert second is not first

    barrier = threading.Barrier(8)
    mismatches: list[int] = []

    async def held_while_others_run(index: int) -> None:
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
        for _ in range(50):
            scheduler, loop = running_scheduler()
            if scheduler is not get_scheduler() or loop is not asyncio.get_running_loop():
                mismatches.append(index)
            await asyncio.sleep(0)

    threads = [
        threading.Thread(target=asyncio.run, args=(held_while_others_run(i),)) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert mismatches == []


def test_running_scheduler_on_uvloop() -> None:
    """On uvloop too, each loop has its own scheduler, the same on every lookup."""
    uvloop = pytest.importorskip("uvloop")

    async def pair() -> tuple[TimeoutScheduler, asyncio.AbstractEventLoop, TimeoutScheduler]:
        scheduler, loop = running_scheduler()
        again, _ = running_scheduler()
        assert again is scheduler
        return scheduler, loop, get_scheduler()

    first, first_loop, expected = uvloop.run(pair())
    assert first is expected
    second, second_loop, expected = uvloop.run(pair())
    assert second is expected
    assert second is not first
    assert second_loop is not first_loop


def test_running_scheduler_is_not_fooled_by_a_loop_that_moved_thread() -> None:
    """A loop first run here and now running in another thread is not taken for this thread's."""
    moved = asyncio.new_event_loop()
    started = threading.Event()
    release = threading.Event()

    async def remember() -> None:
        running_scheduler()

    async def hold() -> None:
        started.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait)

    async def here() -> tuple[TimeoutScheduler, asyncio.AbstractEventLoop]:
        return running_scheduler()

    moved.run_until_complete(remember())
    other = threading.Thread(target=moved.run_until_complete, args=(hold(),))
    other.start()
    try:
        assert started.wait(timeout=30)
        fresh = asyncio.new_event_loop()
        try:
            scheduler, loop = fresh.run_until_complete(here())
        finally:
            fresh.close()
        assert loop is fresh
        assert scheduler is not get_scheduler(moved)
    finally:
        release.set()
        other.join(timeout=30)
        moved.close()


def test_scheduler_does_not_keep_its_loop_alive() -> None:
    """A closed loop with a scheduler is garbage collected."""
    loop = asyncio.new_event_loop()

    async def use() -> None:
        async with timeout(10):
            await asyncio.sleep(0)

    loop.run_until_complete(use())
    loop.close()
    ref = weakref.ref(loop)
    del loop
    gc.collect()
    assert ref() is None


def test_scheduler_refuses_a_task_of_another_loop() -> None:
    """A scheduler only serves tasks of the loop it was made for."""
    other = asyncio.new_event_loop()
    scheduler = TimeoutScheduler(other)

    async def use() -> None:
        async with scheduler.timeout(1.0):
            pass

    try:
        with pytest.raises(RuntimeError, match="another event loop"):
            asyncio.run(use())
    finally:
        other.close()


def test_timeout_outside_a_task_is_an_error() -> None:
    """Entering a timeout needs a running asyncio task."""
    entry = timeout(1.0)
    coro = entry.__aenter__()
    with pytest.raises(RuntimeError):
        coro.send(None)


def test_a_request_after_an_early_drain_of_its_bucket_still_expires() -> None:
    """The scheduler remembers the last bucket; once the timer has drained that bucket (the
    loop may run a timer early), a new request of the same tick gets a live bucket again."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        scheduler = TimeoutScheduler(loop, resolution=1.0)
        at = time.monotonic()
        first = scheduler.timeout(5.0)
        scheduler._add(first, at, loop)
        scheduler._fire()  # the armed tick drained (as by an early timer run)
        assert first.cancelled
        second = scheduler.timeout(5.0)
        scheduler._add(second, at, loop)  # the same tick as the drained bucket
        assert scheduler.pending == 1
        scheduler._fire()
        assert second.cancelled
        assert scheduler.pending == 0

    asyncio.run(scenario())
