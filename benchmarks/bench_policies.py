"""Per-request cost of the policy primitives, in ns/op, all measured in the same run.

    python benchmarks/bench_policies.py

Bulkhead: uncontended ``try_acquire`` + ``release`` (what the pipeline does per request), sync
and from a coroutine, and the ``aslot()`` context manager, next to the two bare lock round
trips they cannot go below. Timeouts: one register + unregister
through :class:`TimeoutScheduler` next to ``asyncio.timeout`` and a bare loop as the baseline.
Deadlines: one ``deadline_scope`` enter/exit plus a ``check_deadline``. Each figure is the best
of several repeats, to keep scheduler noise out.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from seawall.deadline import check_deadline, deadline_scope
from seawall.resilience.bulkhead import Bulkhead
from seawall.timeouts import get_scheduler, timeout

N = 200_000
REPEATS = 5


def best_sync(body: Callable[[int], None]) -> float:
    """Best ns/op of ``body(N)`` over REPEATS runs."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter_ns()
        body(N)
        best = min(best, (time.perf_counter_ns() - started) / N)
    return best


async def best_async(body: Callable[[int], Awaitable[None]]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter_ns()
        await body(N)
        best = min(best, (time.perf_counter_ns() - started) / N)
    return best


def bare_loop(n: int) -> None:
    for _ in range(n):
        pass


def lock_floor(n: int) -> None:
    lock = threading.Lock()
    for _ in range(n):
        with lock:
            pass
        with lock:
            pass


def bulkhead_sync(n: int) -> None:
    bulkhead = Bulkhead("bench", max_concurrency=8)
    try_acquire, release = bulkhead.try_acquire, bulkhead.release
    for _ in range(n):
        if try_acquire():
            release()


def deadline_check(n: int) -> None:
    for _ in range(n):
        with deadline_scope(2.0):
            check_deadline("bench")


async def async_bare_loop(n: int) -> None:
    for _ in range(n):
        pass


async def bulkhead_in_coroutine(n: int) -> None:
    bulkhead = Bulkhead("bench", max_concurrency=8)
    for _ in range(n):
        if not bulkhead.try_acquire():
            await bulkhead.aacquire()
        bulkhead.release()


async def bulkhead_aslot(n: int) -> None:
    bulkhead = Bulkhead("bench", max_concurrency=8)
    for _ in range(n):
        async with bulkhead.aslot():
            pass


async def asyncio_timeout(n: int) -> None:
    for _ in range(n):
        async with asyncio.timeout(2.0):
            pass


async def scheduler_timeout(n: int) -> None:
    scheduler = get_scheduler()
    for _ in range(n):
        async with scheduler.timeout(2.0, "bench"):
            pass


async def module_timeout(n: int) -> None:
    for _ in range(n):
        async with timeout(2.0, "bench"):
            pass


async def run_async() -> list[tuple[str, float]]:
    return [
        ("async: bare loop (baseline)", await best_async(async_bare_loop)),
        ("bulkhead try_acquire+release in a coroutine", await best_async(bulkhead_in_coroutine)),
        ("bulkhead async with aslot()", await best_async(bulkhead_aslot)),
        ("async with asyncio.timeout(2.0)", await best_async(asyncio_timeout)),
        ("async with scheduler.timeout(2.0)", await best_async(scheduler_timeout)),
        ("async with seawall.timeouts.timeout(2.0)", await best_async(module_timeout)),
    ]


def main() -> None:
    results = [
        ("sync: bare loop (baseline)", best_sync(bare_loop)),
        ("two `with threading.Lock()` (floor for acquire+release)", best_sync(lock_floor)),
        ("bulkhead try_acquire+release (sync)", best_sync(bulkhead_sync)),
        ("deadline_scope(2.0) + check_deadline", best_sync(deadline_check)),
    ]
    results += asyncio.run(run_async())
    width = max(len(name) for name, _ in results)
    for name, ns in results:
        print(f"{name:<{width}}  {ns:8.0f} ns/op")
    by_name = dict(results)
    ratio = (
        by_name["async with asyncio.timeout(2.0)"] / by_name["async with scheduler.timeout(2.0)"]
    )
    print(f"scheduler.timeout is {ratio:.1f}x cheaper than asyncio.timeout")


if __name__ == "__main__":
    main()
