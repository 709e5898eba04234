"""A per-route concurrency limit with an optional bounded FIFO queue, shared by threads and tasks.

The free permits are tokens in one list shared by sync and async callers, so a route served
from worker threads and event loops at once still never runs more than ``max_concurrency``
calls. Taking one (``list.pop``) and giving one back (``list.append``) are single atomic
operations, so an uncontended call takes no lock. Over the limit a caller queues (at most
``max_queue`` of them, first in first out, for at most ``max_wait`` seconds) under the
bulkhead's lock, or is refused at once with :class:`~seawall.errors.exceptions.BulkheadFullError`.

A release that finds waiters hands its permit straight to the oldest one, and no caller takes a
free token while anyone waits, so a newcomer never overtakes the queue. A release that finds
none puts its token back, then looks again: a waiter that queued in between is served from the
free tokens (a waiter also takes any free token right after it queues), so no permit stays free
while someone waits. Threads park on a per-waiter lock; tasks await a future that is resolved
with ``loop.call_soon_threadsafe``, so the async path never blocks its event loop. Whether a
waiter got a permit is decided under the lock: one whose wait runs out at the moment a permit
reaches it keeps the permit (it was admitted), and one that is cancelled passes it to the next
waiter, so a permit is never lost.

>>> reports = Bulkhead("GET /reports/{id}", max_concurrency=8, max_queue=16, max_wait=0.5)
>>> with reports.slot():
...     render_report()
"""

from __future__ import annotations

import asyncio
import math
import threading
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from seawall.clock import Clock, monotonic
from seawall.errors.exceptions import BulkheadFullError

__all__ = ["Bulkhead", "BulkheadSnapshot"]

_WAITING, _GRANTED, _EXPIRED, _GONE = range(4)


@dataclass(frozen=True, slots=True)
class BulkheadSnapshot:
    """Counters of one bulkhead at one moment; ``rejected`` counts since creation."""

    name: str
    max_concurrency: int
    max_queue: int
    in_use: int
    queued: int
    rejected: int


class _Waiter(ABC):
    """A queued caller; ``state`` changes only under the bulkhead's lock."""

    __slots__ = ("expires_at", "state")

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at
        self.state = _WAITING

    @abstractmethod
    def wake(self) -> bool:
        """Tell the waiter its state changed; False when it can no longer be told."""


class _ThreadWaiter(_Waiter):
    __slots__ = ("_parked",)

    def __init__(self, expires_at: float) -> None:
        super().__init__(expires_at)
        self._parked = threading.Lock()
        self._parked.acquire()

    def wake(self) -> bool:
        self._parked.release()
        return True

    def park(self, timeout: float) -> bool:
        return self._parked.acquire(timeout=timeout)


class _TaskWaiter(_Waiter):
    __slots__ = ("_loop", "future")

    def __init__(self, expires_at: float, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(expires_at)
        self._loop = loop
        self.future: asyncio.Future[None] = loop.create_future()

    def wake(self) -> bool:
        try:
            self._loop.call_soon_threadsafe(_resolve, self.future)
        except RuntimeError:  # the waiter's loop is closed: nobody is left to take the permit
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Bulkhead:
    """At most ``max_concurrency`` concurrent holders; ``max_queue`` waiters for ``max_wait`` s.

    ``clock`` (default :func:`seawall.clock.monotonic`) decides whether a queued waiter has
    expired when a permit is handed over, so tests can age the queue with a fake clock.
    """

    __slots__ = (
        "_clock", "_free", "_lock", "_rejected", "_retry_after", "_waiters", "max_concurrency",
        "max_queue", "max_wait", "name",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        max_concurrency: int,
        max_queue: int = 0,
        max_wait: float = 0.0,
        *,
        clock: Clock | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if max_queue < 0:
            raise ValueError(f"max_queue must be at least 0, got {max_queue}")
        if not 0.0 <= max_wait < math.inf:
            raise ValueError(f"max_wait must be a finite number of seconds >= 0, got {max_wait}")
        if max_queue and not max_wait:
            raise ValueError("a queue (max_queue > 0) needs max_wait > 0 to bound the wait")
        self.name = name
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.max_wait = max_wait
        self._clock = clock or monotonic
        self._lock = threading.Lock()  # the queue's: waiters, their states, the rejected count
        self._free: list[None] = [None] * max_concurrency  # one token per free permit
        self._waiters: deque[_Waiter] = deque()
        self._rejected = 0
        # Retry-After for rejections: a full queue drains in about max_wait; one second at least.
        self._retry_after = max(1.0, max_wait)

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"<Bulkhead {self.name!r} {s.in_use}/{s.max_concurrency} in use, "
            f"{s.queued}/{s.max_queue} queued>"
        )

    # -- sync ----------------------------------------------------------------------------------

    def try_acquire(self) -> bool:
        """Take a permit if one is free right now; never waits, never counts a rejection."""
        # The hot path of every call, without the lock: a free token while someone waits is
        # theirs (a release is serving them), so only an empty queue lets a caller take one.
        if self._waiters:
            return False
        return self._take()

    def _take(self) -> bool:
        free = self._free
        if not free:
            return False
        try:
            free.pop()  # atomic: of two callers racing for the last token, one gets it
        except IndexError:
            return False
        return True

    def acquire(self, wait: float | None = None) -> None:
        """Take a permit, queueing for at most ``wait`` (default ``max_wait``) seconds.

        Raises :class:`BulkheadFullError` when the queue is full or the wait runs out.
        """
        if self.try_acquire():
            return
        with self._lock:
            if not self._waiters and self._take():
                return
            waiter = _ThreadWaiter(0.0)
            wait = self._enqueue_locked(waiter, wait)
        try:
            woken = waiter.park(wait)
        except BaseException:
            self._abandon(waiter)
            raise
        if not woken and self._give_up(waiter):
            raise self._full()
        if waiter.state == _EXPIRED:
            raise self._full()

    def release(self) -> None:
        """Return a permit: the oldest live waiter gets it, else it becomes free."""
        if self._waiters:
            with self._lock:
                self._pass_on_locked()
            return
        self._put_back()
        if self._waiters:  # one queued while the token went back: serve the queue from it
            with self._lock:
                self._serve_locked()

    def _put_back(self) -> None:
        free = self._free
        free.append(None)
        if len(free) > self.max_concurrency:
            free.pop()
            raise RuntimeError(f"bulkhead {self.name!r} released more often than acquired")

    def slot(self, wait: float | None = None) -> _Slot:
        """``with bulkhead.slot():`` holds a permit for the block."""
        return _Slot(self, wait)

    # -- async ---------------------------------------------------------------------------------

    async def aacquire(self, wait: float | None = None) -> None:
        """:meth:`acquire` for coroutines: queued tasks await, the loop keeps running."""
        if self.try_acquire():
            return
        with self._lock:
            if not self._waiters and self._take():
                return
            waiter = _TaskWaiter(0.0, asyncio.get_running_loop())
            wait = self._enqueue_locked(waiter, wait)
        try:
            async with asyncio.timeout(wait):
                await waiter.future
        except TimeoutError:
            if self._give_up(waiter):
                raise self._full() from None
        except BaseException:
            self._abandon(waiter)
            raise
        if waiter.state == _EXPIRED:
            raise self._full()

    def aslot(self, wait: float | None = None) -> _AsyncSlot:
        """``async with bulkhead.aslot():`` holds a permit for the block."""
        return _AsyncSlot(self, wait)

    # -- state ---------------------------------------------------------------------------------

    def snapshot(self) -> BulkheadSnapshot:
        """In use, queued and rejected counts, read consistently."""
        with self._lock:
            return BulkheadSnapshot(
                name=self.name,
                max_concurrency=self.max_concurrency,
                max_queue=self.max_queue,
                in_use=self.max_concurrency - len(self._free),
                queued=len(self._waiters),
                rejected=self._rejected,
            )

    def _full(self) -> BulkheadFullError:
        return BulkheadFullError(route=self.name, retry_after=self._retry_after)

    def _enqueue_locked(self, waiter: _Waiter, wait: float | None) -> float:
        """Queue ``waiter`` or raise; returns the wait in seconds. Caller holds the lock."""
        wait = self.max_wait if wait is None else min(wait, self.max_wait)
        if wait <= 0 or len(self._waiters) >= self.max_queue:
            self._rejected += 1
            raise self._full()
        waiter.expires_at = self._clock() + wait
        self._waiters.append(waiter)
        self._serve_locked()  # a token freed since the caller looked goes to the oldest waiter
        return wait

    def _serve_locked(self) -> None:
        """Hand free tokens to the oldest waiters while both remain (lock held)."""
        while self._waiters and self._take():
            if not self._grant_locked():
                self._put_back()
                return

    def _pass_on_locked(self) -> None:
        """A held permit is given back (lock held): to the oldest live waiter, else freed."""
        if not self._grant_locked():
            self._put_back()

    def _grant_locked(self) -> bool:
        """Hand one permit to the oldest live waiter, refusing the expired ones on the way;
        False when no waiter took it (lock held)."""
        waiters = self._waiters
        if waiters:
            now = self._clock()
            while waiters:
                waiter = waiters.popleft()
                if waiter.expires_at <= now:
                    waiter.state = _EXPIRED
                    self._rejected += 1
                    waiter.wake()
                    continue
                waiter.state = _GRANTED
                if waiter.wake():
                    return True  # the permit changes hands: it is never free in between
                waiter.state = _GONE
        return False

    def _give_up(self, waiter: _Waiter) -> bool:
        """The wait ran out: True to reject, False when a permit reached it just in time."""
        with self._lock:
            if waiter.state == _GRANTED:
                return False
            if waiter.state == _WAITING:
                self._waiters.remove(waiter)
                waiter.state = _GONE
                self._rejected += 1
            return True

    def _abandon(self, waiter: _Waiter) -> None:
        """The waiter was cancelled or interrupted: it must not keep or lose a permit."""
        with self._lock:
            if waiter.state == _GRANTED:
                waiter.state = _GONE
                self._pass_on_locked()
            elif waiter.state == _WAITING:
                self._waiters.remove(waiter)
                waiter.state = _GONE


class _Slot:
    __slots__ = ("_bulkhead", "_wait")

    def __init__(self, bulkhead: Bulkhead, wait: float | None) -> None:
        self._bulkhead = bulkhead
        self._wait = wait

    def __enter__(self) -> None:
        self._bulkhead.acquire(self._wait)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bulkhead.release()


class _AsyncSlot:
    __slots__ = ("_bulkhead", "_wait")

    def __init__(self, bulkhead: Bulkhead, wait: float | None) -> None:
        self._bulkhead = bulkhead
        self._wait = wait

    async def __aenter__(self) -> None:
        if not self._bulkhead.try_acquire():  # skips creating a coroutine when uncontended
            await self._bulkhead.aacquire(self._wait)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bulkhead.release()
