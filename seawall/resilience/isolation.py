"""WSGI thread isolation (``timeout_mode="thread"``): answer 504 at the deadline, bounded.

A WSGI handler's thread cannot be interrupted (and ``signal.alarm`` works only in the main
thread of one process, so seawall never uses it). For routes that opt in, the handler runs on a
worker of an :class:`IsolationPool` while the request thread waits for at most ``timeout``
seconds.

Guarantees:

* The caller gets the handler's result or exception, or :class:`RequestTimeoutError` (a 504)
  once ``timeout`` has passed, whatever the handler is doing.
* The handler is **not** stopped: abandoned work keeps its worker until it finishes, and its
  result is discarded. It runs in a copy of the caller's context, so its logs keep the
  correlation id and :func:`seawall.context.deadline.remaining` reports the time left.
* Threads are bounded: at most ``max_workers`` calls run at once, at most ``max_abandoned`` of
  them abandoned; beyond either bound a new call is refused at once with
  :class:`BulkheadFullError` (a 503) instead of queueing or starting more threads.
* Abandoned work is counted (:meth:`IsolationPool.snapshot`). Workers are daemon threads, so a
  handler that never returns cannot hold up interpreter exit.

>>> pool = IsolationPool(max_workers=8, max_abandoned=4)
>>> response = run_isolated(lambda: app(environ, start_response), 2.0, pool=pool)
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from seawall.errors.exceptions import BulkheadFullError, RequestTimeoutError

__all__ = ["IsolationPool", "IsolationSnapshot", "run_isolated"]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class IsolationSnapshot:
    """Counters of one pool; ``running`` includes ``abandoned`` work still going."""

    max_workers: int
    max_abandoned: int
    threads: int
    running: int
    abandoned: int
    completed_after_abandon: int
    rejected: int


class _Call(Generic[R]):
    """One isolated call: runs on a worker, the caller waits on ``_finished``."""

    __slots__ = ("_context", "_error", "_finished", "_fn", "_result", "abandoned", "done")

    def __init__(self, fn: Callable[[], R]) -> None:
        self._fn = fn
        self._context = contextvars.copy_context()
        self._finished = threading.Lock()
        self._finished.acquire()
        self._result: R | None = None
        self._error: BaseException | None = None
        self.abandoned = False
        self.done = False  # written under the pool's lock

    def run(self) -> None:
        try:
            self._result = self._context.run(self._fn)
        except BaseException as exc:  # handed to the caller, never lost in the worker
            self._error = exc

    def finish(self) -> None:
        self._finished.release()

    def wait(self, timeout: float | None) -> bool:
        return self._finished.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))

    def outcome(self) -> R:
        if self._error is not None:
            error, self._error = self._error, None  # no reference cycle through the traceback
            raise error
        return self._result  # type: ignore[return-value]


class IsolationPool:
    """A bounded set of daemon worker threads for :func:`run_isolated`.

    ``max_abandoned`` (default ``max_workers``) caps how many workers may be tied up by calls
    that already timed out. Close it with :meth:`shutdown` or use it as a context manager.
    """

    def __init__(
        self,
        max_workers: int,
        *,
        max_abandoned: int | None = None,
        name: str = "seawall-isolated",
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        max_abandoned = max_workers if max_abandoned is None else max_abandoned
        if not 1 <= max_abandoned <= max_workers:
            raise ValueError(f"max_abandoned must be in 1..{max_workers}, got {max_abandoned}")
        self.max_workers = max_workers
        self.max_abandoned = max_abandoned
        self.name = name
        self._lock = threading.Lock()
        self._calls: queue.SimpleQueue[_Call[Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._abandoned = 0
        self._completed_after_abandon = 0
        self._rejected = 0
        self._closed = False

    def run(self, fn: Callable[[], R], timeout: float | None, *, route: str | None = None) -> R:
        """See :func:`run_isolated`."""
        call = _Call(fn)
        self._submit(call, route)
        if call.wait(timeout):
            return call.outcome()
        with self._lock:
            if not call.done:
                call.abandoned = True
                self._abandoned += 1
        if call.abandoned:
            raise RequestTimeoutError(route=route)
        call.wait(None)  # it finished as the wait ran out: the result is moments away
        return call.outcome()

    def snapshot(self) -> IsolationSnapshot:
        with self._lock:
            return IsolationSnapshot(
                max_workers=self.max_workers,
                max_abandoned=self.max_abandoned,
                threads=len(self._threads),
                running=self._running,
                abandoned=self._abandoned,
                completed_after_abandon=self._completed_after_abandon,
                rejected=self._rejected,
            )

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers once they are idle; refuse new calls. ``wait`` joins them."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._calls.put(None)
        if wait:
            for thread in threads:
                thread.join()

    def __enter__(self) -> IsolationPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    def _submit(self, call: _Call[Any], route: str | None) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"isolation pool {self.name!r} is shut down")
            if self._running >= self.max_workers or self._abandoned >= self.max_abandoned:
                self._rejected += 1
                raise BulkheadFullError(route=route, retry_after=1.0)
            self._running += 1
            # Threads live until shutdown, so keeping threads >= unfinished calls means every
            # queued call has an idle thread about to take it.
            if self._running > len(self._threads):
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        self._calls.put(call)

    def _work(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            call.run()
            with self._lock:
                call.done = True
                self._running -= 1
                if call.abandoned:
                    self._abandoned -= 1
                    self._completed_after_abandon += 1
            call.finish()  # after the bookkeeping: a caller that returns sees this worker free
            del call  # an idle worker holds no finished result


def run_isolated(
    fn: Callable[[], R], timeout: float | None, *, pool: IsolationPool, route: str | None = None
) -> R:
    """Run ``fn()`` on ``pool`` with the caller's context; its result, or 504 after ``timeout``.

    Raises :class:`RequestTimeoutError` at the deadline (``fn`` keeps running in the background)
    and :class:`BulkheadFullError` when the pool's bounds are reached.

    >>> run_isolated(functools.partial(render, report_id), 2.0, pool=pool, route="GET /r/{id}")
    """
    return pool.run(fn, timeout, route=route)
