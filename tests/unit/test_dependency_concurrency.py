"""Many tasks and threads through one dependency: the limit holds and no permit leaks."""

from __future__ import annotations

import asyncio
import threading

import pytest

import seawall


async def test_200_async_calls_never_run_more_than_10_at_once() -> None:
    """max_concurrency 10 with a queue: all 200 finish, at most 10 ever inside."""
    deps = seawall.Dependencies({"dependencies": {"model": {
        "max_concurrency": 10, "max_queue": 200, "max_wait": 30}}})  # fmt: skip
    inside = peak = 0

    @seawall.dependency("model")
    async def infer(i: int) -> int:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await asyncio.sleep(0.001)
        inside -= 1
        return i

    results = await asyncio.gather(*(infer(i) for i in range(200)))
    assert results == list(range(200))
    assert peak == 10
    assert deps["model"].engine.bulkhead.snapshot().in_use == 0  # type: ignore[union-attr]


async def test_cancelled_calls_leak_no_permit() -> None:
    """Cancel 200 calls, running or queued: every slot comes back, none is lost."""
    deps = seawall.Dependencies({"dependencies": {"model": {
        "max_concurrency": 10, "max_queue": 200, "max_wait": 30}}})  # fmt: skip
    started = asyncio.Event()
    entered = 0

    async def hang() -> None:
        nonlocal entered
        entered += 1
        if entered == 10:
            started.set()
        await asyncio.sleep(3600)

    tasks = [asyncio.create_task(seawall.dependency("model").acall(hang)) for _ in range(200)]
    await asyncio.wait_for(started.wait(), 10)
    bulkhead = deps["model"].engine.bulkhead
    assert bulkhead is not None
    assert bulkhead.snapshot().in_use == 10
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.queued) == (0, 0)
    # and the full limit is usable again
    done = await asyncio.gather(
        *(seawall.dependency("model").acall(asyncio.sleep, 0) for _ in range(20))
    )
    assert len(done) == 20


def test_threads_share_the_limit_with_tasks() -> None:
    """32 threads through max_concurrency 4: never more than 4 inside, all slots returned."""
    deps = seawall.Dependencies({"dependencies": {"db": {
        "max_concurrency": 4, "max_queue": 64, "max_wait": 30}}})  # fmt: skip
    lock = threading.Lock()
    inside = peak = 0
    gate = threading.Barrier(32)

    def query() -> None:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        with lock:
            inside -= 1

    def worker() -> None:
        gate.wait()
        for _ in range(50):
            seawall.dependency("db").call(query)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert peak <= 4
    assert deps["db"].engine.bulkhead.snapshot().in_use == 0  # type: ignore[union-attr]


async def test_a_full_queue_refuses_with_bulkhead_full() -> None:
    """Without a queue the 11th concurrent call is refused at once."""
    seawall.Dependencies({"dependencies": {"model": {"max_concurrency": 10}}})
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    tasks = [asyncio.create_task(seawall.dependency("model").acall(hold)) for _ in range(10)]
    await asyncio.sleep(0)
    with pytest.raises(seawall.BulkheadFullError):
        await seawall.dependency("model").acall(hold)
    release.set()
    await asyncio.gather(*tasks)
