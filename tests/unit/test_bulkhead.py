"""Bulkhead: one concurrency limit for threads and tasks, a bounded FIFO queue, no lost permits."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from seawall.clock import FakeClock
from seawall.errors.exceptions import BulkheadFullError
from seawall.resilience.bulkhead import Bulkhead


class QueueClock(FakeClock):
    """A fake clock that also signals each read: a waiter reads it as it joins the queue."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = threading.Semaphore(0)

    def __call__(self) -> float:
        self.reads.release()
        return super().__call__()


def start_thread_waiter(
    bulkhead: Bulkhead, clock: QueueClock, name: str, log: list[str]
) -> threading.Thread:
    """Start a thread that queues on ``bulkhead``; return once it is in the queue."""

    def wait_turn() -> None:
        bulkhead.acquire()
        log.append(name)
        bulkhead.release()

    thread = threading.Thread(target=wait_turn)
    thread.start()
    assert clock.reads.acquire(timeout=5)
    return thread


async def start_task_waiter(bulkhead: Bulkhead, name: str, log: list[str]) -> asyncio.Task[None]:
    """Start a task that queues on ``bulkhead``; return once it is in the queue."""

    async def wait_turn() -> None:
        await bulkhead.aacquire()
        log.append(name)
        bulkhead.release()

    task = asyncio.create_task(wait_turn())
    await asyncio.sleep(0)  # the task runs up to its wait in the queue
    return task


def test_admits_up_to_max_concurrency() -> None:
    """Callers up to the limit get a permit at once."""
    bulkhead = Bulkhead("r", max_concurrency=2)
    bulkhead.acquire()
    assert bulkhead.try_acquire()
    assert bulkhead.snapshot().in_use == 2


def test_rejects_at_once_over_the_limit_without_a_queue() -> None:
    """Over the limit with max_queue=0, acquire raises BulkheadFullError naming the route."""
    bulkhead = Bulkhead("GET /r", max_concurrency=1)
    bulkhead.acquire()
    with pytest.raises(BulkheadFullError) as info:
        bulkhead.acquire()
    assert info.value.route == "GET /r"
    assert info.value.retry_after is not None
    assert info.value.retry_after >= 1
    assert bulkhead.snapshot().rejected == 1


def test_try_acquire_never_waits_nor_counts_a_rejection() -> None:
    """try_acquire answers False when full and leaves the rejected count alone."""
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=5, max_wait=10)
    assert bulkhead.try_acquire()
    assert not bulkhead.try_acquire()
    assert bulkhead.snapshot().rejected == 0


def test_rejects_when_the_queue_is_full() -> None:
    """A caller that finds the queue full is refused at once."""
    clock = QueueClock()
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10, clock=clock)
    bulkhead.acquire()
    log: list[str] = []
    waiter = start_thread_waiter(bulkhead, clock, "queued", log)
    with pytest.raises(BulkheadFullError):
        bulkhead.acquire()
    bulkhead.release()
    waiter.join()
    assert log == ["queued"]
    assert bulkhead.snapshot().rejected == 1


def test_release_hands_the_permit_to_waiters_in_fifo_order() -> None:
    """Queued tasks get permits in the order they arrived."""

    async def scenario() -> list[str]:
        bulkhead = Bulkhead("r", max_concurrency=1, max_queue=3, max_wait=10)
        bulkhead.acquire()
        log: list[str] = []
        tasks = [await start_task_waiter(bulkhead, name, log) for name in "abc"]
        bulkhead.release()
        await asyncio.gather(*tasks)
        return log

    assert asyncio.run(scenario()) == ["a", "b", "c"]


def test_fifo_order_holds_across_threads_and_tasks() -> None:
    """Threads and tasks share one queue, served in arrival order."""
    clock = QueueClock()
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=4, max_wait=10, clock=clock)
    log: list[str] = []

    async def scenario() -> None:
        bulkhead.acquire()
        first = start_thread_waiter(bulkhead, clock, "thread-1", log)
        task = await start_task_waiter(bulkhead, "task", log)
        second = start_thread_waiter(bulkhead, clock, "thread-2", log)
        bulkhead.release()
        await task
        await asyncio.to_thread(first.join)
        await asyncio.to_thread(second.join)

    asyncio.run(scenario())
    assert log == ["thread-1", "task", "thread-2"]
    assert bulkhead.snapshot().in_use == 0


def test_newcomer_does_not_overtake_the_queue() -> None:
    """A released permit goes to the waiter, not to a caller arriving just then."""

    async def scenario() -> None:
        bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10)
        bulkhead.acquire()
        log: list[str] = []
        task = await start_task_waiter(bulkhead, "waiter", log)
        bulkhead.release()
        assert not bulkhead.try_acquire()
        await task
        assert log == ["waiter"]

    asyncio.run(scenario())


def test_sync_and_async_callers_share_one_limit() -> None:
    """A permit held by a thread counts against tasks, and the other way round."""

    async def scenario() -> None:
        bulkhead = Bulkhead("r", max_concurrency=2)
        await asyncio.to_thread(bulkhead.acquire)
        await bulkhead.aacquire()
        with pytest.raises(BulkheadFullError):
            await bulkhead.aacquire()
        with pytest.raises(BulkheadFullError):
            await asyncio.to_thread(bulkhead.acquire)
        assert bulkhead.snapshot().in_use == 2

    asyncio.run(scenario())


def test_a_thread_releasing_wakes_a_queued_task() -> None:
    """A permit released from another thread reaches a task waiting on the event loop."""

    async def scenario() -> None:
        bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10)
        bulkhead.acquire()
        log: list[str] = []
        task = await start_task_waiter(bulkhead, "task", log)
        await asyncio.to_thread(bulkhead.release)
        await task
        assert log == ["task"]

    asyncio.run(scenario())


def test_a_task_releasing_wakes_a_queued_thread() -> None:
    """A permit released on the event loop reaches a thread parked in acquire."""
    clock = QueueClock()
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10, clock=clock)
    log: list[str] = []

    async def scenario() -> None:
        await bulkhead.aacquire()
        thread = start_thread_waiter(bulkhead, clock, "thread", log)
        bulkhead.release()
        await asyncio.to_thread(thread.join)

    asyncio.run(scenario())
    assert log == ["thread"]


def test_waiter_expired_by_the_clock_is_refused_and_frees_its_place() -> None:
    """A waiter older than max_wait when a permit comes is rejected; the permit becomes free."""
    clock = QueueClock()
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10, clock=clock)
    bulkhead.acquire()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            bulkhead.acquire()
        except BulkheadFullError as exc:
            errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    assert clock.reads.acquire(timeout=5)
    clock.advance(11)
    bulkhead.release()
    thread.join()
    assert len(errors) == 1
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.queued, snapshot.rejected) == (0, 0, 1)


def test_async_wait_runs_out_after_max_wait() -> None:
    """A task queued longer than max_wait gets BulkheadFullError and leaves the queue."""

    async def scenario() -> None:
        bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=0.05)
        bulkhead.acquire()
        with pytest.raises(BulkheadFullError):
            await bulkhead.aacquire()
        snapshot = bulkhead.snapshot()
        assert (snapshot.in_use, snapshot.queued, snapshot.rejected) == (1, 0, 1)
        bulkhead.release()
        assert bulkhead.snapshot().in_use == 0

    asyncio.run(scenario())


def test_sync_wait_runs_out_after_max_wait() -> None:
    """A thread queued longer than max_wait gets BulkheadFullError and leaves the queue."""
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=0.05)
    bulkhead.acquire()
    with pytest.raises(BulkheadFullError):
        bulkhead.acquire()
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.queued, snapshot.rejected) == (1, 0, 1)


def test_per_call_wait_can_only_shorten_max_wait() -> None:
    """acquire(wait=0) refuses at once even when the bulkhead allows queueing."""
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10)
    bulkhead.acquire()
    with pytest.raises(BulkheadFullError):
        bulkhead.acquire(wait=0)
    assert bulkhead.snapshot().queued == 0


def test_cancelled_waiter_leaves_the_queue() -> None:
    """Cancelling a queued task removes it without touching the permits."""

    async def scenario() -> None:
        bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10)
        bulkhead.acquire()
        task = await start_task_waiter(bulkhead, "task", [])
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        snapshot = bulkhead.snapshot()
        assert (snapshot.in_use, snapshot.queued) == (1, 0)

    asyncio.run(scenario())


def test_waiter_cancelled_as_the_permit_reaches_it_frees_the_permit() -> None:
    """A permit handed to a task cancelled in the same instant is returned, not kept."""

    async def scenario() -> None:
        bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10)
        bulkhead.acquire()
        task = await start_task_waiter(bulkhead, "task", [])
        bulkhead.release()  # granted to the task ...
        task.cancel()  # ... which is cancelled before it could run
        with pytest.raises(asyncio.CancelledError):
            await task
        assert bulkhead.snapshot().in_use == 0

    asyncio.run(scenario())


def test_waiter_cancelled_as_the_permit_reaches_it_passes_it_to_the_next() -> None:
    """In the same race with another waiter queued, that waiter gets the permit."""

    async def scenario() -> None:
        bulkhead = Bulkhead("r", max_concurrency=1, max_queue=2, max_wait=10)
        bulkhead.acquire()
        log: list[str] = []
        cancelled = await start_task_waiter(bulkhead, "cancelled", log)
        next_in_line = await start_task_waiter(bulkhead, "next", log)
        bulkhead.release()
        cancelled.cancel()
        await next_in_line
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert log == ["next"]
        assert bulkhead.snapshot().in_use == 0

    asyncio.run(scenario())


def test_waiter_on_a_closed_loop_is_skipped() -> None:
    """A permit never goes to a task whose event loop has closed; it stays free."""
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=10)
    bulkhead.acquire()
    loop = asyncio.new_event_loop()
    task = loop.create_task(bulkhead.aacquire())
    loop.run_until_complete(asyncio.sleep(0))  # the task joins the queue
    loop.close()  # with the task still queued: nobody will ever take its permit
    bulkhead.release()
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.queued) == (0, 0)
    task._log_destroy_pending = False  # type: ignore[attr-defined]  # abandoned on purpose
    task.get_coro().close()


def test_slot_context_managers_release_on_error() -> None:
    """slot() and aslot() give the permit back when the block raises."""
    bulkhead = Bulkhead("r", max_concurrency=1)
    with pytest.raises(ZeroDivisionError), bulkhead.slot():
        1 / 0  # noqa: B018

    async def scenario() -> None:
        with pytest.raises(ZeroDivisionError):
            async with bulkhead.aslot():
                1 / 0  # noqa: B018

    asyncio.run(scenario())
    assert bulkhead.snapshot().in_use == 0


def test_release_without_acquire_is_an_error() -> None:
    """Releasing a permit nobody holds raises instead of raising the limit."""
    with pytest.raises(RuntimeError):
        Bulkhead("r", max_concurrency=1).release()


def test_queue_without_max_wait_is_refused() -> None:
    """A queue needs a bounded wait."""
    with pytest.raises(ValueError, match="max_wait"):
        Bulkhead("r", max_concurrency=1, max_queue=1)


def test_fifty_mixed_callers_with_cancellations_never_exceed_the_limit() -> None:
    """Threads and tasks, timeouts and cancellations: never over the limit, all permits back."""
    limit = 4
    bulkhead = Bulkhead("r", max_concurrency=limit, max_queue=40, max_wait=0.02)
    guard = threading.Lock()
    active = 0
    peak = 0

    def enter() -> None:
        nonlocal active, peak
        with guard:
            active += 1
            peak = max(peak, active)

    def leave() -> None:
        nonlocal active
        with guard:
            active -= 1

    def thread_caller(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(8):
            with contextlib.suppress(BulkheadFullError), bulkhead.slot():
                enter()
                threading.Event().wait(rng.random() / 1000)
                leave()

    async def task_call(rng: random.Random) -> None:
        async with bulkhead.aslot():
            enter()
            try:
                await asyncio.sleep(rng.random() / 1000)
            finally:
                leave()

    async def task_caller(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(8):
            call = asyncio.create_task(task_call(rng))
            if rng.random() < 0.5:  # cancel it: queued, holding, or just granted
                await asyncio.sleep(rng.random() / 300)
                call.cancel()
            with contextlib.suppress(BulkheadFullError, asyncio.CancelledError):
                await call

    async def scenario() -> None:
        threads = [threading.Thread(target=thread_caller, args=(i,)) for i in range(25)]
        for thread in threads:
            thread.start()
        await asyncio.gather(*(task_caller(100 + i) for i in range(25)))
        for thread in threads:
            await asyncio.to_thread(thread.join)

    asyncio.run(scenario())
    assert 1 <= peak <= limit
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.queued) == (0, 0)


def test_lock_free_fast_path_under_many_threads_loses_no_permit_and_strands_no_waiter() -> None:
    """Sixteen threads take and give back permits as fast as they can, on the lock-free path
    and through the queue, with thread switches forced every few microseconds: never over the
    limit, every queued caller served (a token put back while one queues reaches it), all
    permits back at the end."""
    limit = 3
    bulkhead = Bulkhead("r", max_concurrency=limit, max_queue=16, max_wait=30)
    guard = threading.Lock()
    active = 0
    peak = 0
    errors: list[BaseException] = []

    def caller(seed: int) -> None:
        nonlocal active, peak
        rng = random.Random(seed)
        try:
            for _ in range(300):
                if not bulkhead.try_acquire():
                    bulkhead.acquire()
                with guard:
                    active += 1
                    peak = max(peak, active)
                if rng.random() < 0.2:
                    threading.Event().wait(0.0001)
                with guard:
                    active -= 1
                bulkhead.release()
        except BaseException as exc:  # a refusal here means a waiter was left waiting
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads between almost any two steps
    try:
        threads = [threading.Thread(target=caller, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert 1 <= peak <= limit
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.queued, snapshot.rejected) == (0, 0, 0)


class _ArmedClock(FakeClock):
    """A fake clock that runs ``hook`` once, at the next read after ``arm``."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Callable[[], None] | None = None

    def __call__(self) -> float:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return super().__call__()


class _RaceQueue(deque[Any]):
    """The waiters' queue; its first look from ``thread`` runs ``hook`` before answering."""

    def __init__(self) -> None:
        super().__init__()
        self.thread: int | None = None
        self.hook: Callable[[], None] | None = None

    def __bool__(self) -> bool:
        answer = len(self) > 0
        if self.thread == threading.get_ident() and self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return answer


def test_permit_given_back_as_a_caller_queues_reaches_it() -> None:
    """The permit comes back between a caller's look at the free tokens and its place in the
    queue (the release saw no queue): the caller is served from the free token at once."""
    clock = _ArmedClock()
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=30, clock=clock)
    bulkhead.acquire()
    clock.hook = bulkhead.release  # runs inside the caller's enqueue, before it is queued
    done = threading.Event()

    def caller() -> None:
        bulkhead.acquire()
        done.set()

    thread = threading.Thread(target=caller)
    thread.start()
    assert done.wait(timeout=10)  # stranded, it would wait the whole 30 s
    thread.join()
    assert bulkhead.snapshot().in_use == 1


def test_release_after_a_caller_queued_serves_it() -> None:
    """A release looks at the queue (empty), a caller queues and parks, then the release's
    token goes back: the release looks again and hands the token to the caller."""
    bulkhead = Bulkhead("r", max_concurrency=1, max_queue=1, max_wait=30)
    queue = _RaceQueue()
    bulkhead._waiters = queue
    bulkhead.acquire()
    done = threading.Event()

    def caller() -> None:
        bulkhead.acquire()
        done.set()

    def queue_a_caller() -> None:
        threading.Thread(target=caller).start()
        deadline = time.monotonic() + 10
        while bulkhead.snapshot().queued == 0:  # the caller is queued and has let go the lock
            assert time.monotonic() < deadline
            time.sleep(0.001)

    queue.thread = threading.get_ident()
    queue.hook = queue_a_caller
    bulkhead.release()
    assert done.wait(timeout=10)  # stranded, it would wait the whole 30 s
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.queued) == (1, 0)
