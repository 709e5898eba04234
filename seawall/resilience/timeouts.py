"""Route timeouts for asyncio: real cancellation at a fraction of the cost of ``asyncio.timeout``.

``asyncio.timeout()`` arms and cancels one loop timer per use, a few microseconds each time. A
:class:`TimeoutScheduler` instead drops each request into a coarse time bucket (a set, O(1) in
and out) and keeps ONE loop timer armed for the earliest non-empty bucket. Requests that finish
in time (the common case) only add themselves to a set and remove themselves again; the timer is
re-armed only when a bucket earlier than the armed one appears.

Guarantees (ASGI):

* A handler that overruns is cancelled for real: ``CancelledError`` is thrown in at its current
  ``await`` and the ``async with`` block turns it into
  :class:`~seawall.errors.exceptions.RequestTimeoutError` (a 504 when the response has not started).
* Resolution is coarse: the cancellation comes no earlier than ``seconds`` after entry, and at
  most ``resolution`` (default 20 ms) plus the loop's own lag later.
* Only our own cancellation is converted. Like ``asyncio.timeout``, it counts cancel requests
  with ``Task.cancelling()``/``uncancel()``, so a client disconnect or an outer ``cancel()`` still
  propagates as ``CancelledError``, even when it lands together with the timeout.
* Code between awaits cannot be interrupted, and work handed to a thread
  (``run_in_executor``) keeps running after its awaiting task is cancelled.
* Inside the block :func:`seawall.context.deadline.remaining` tells the time left (an outer deadline
  that is sooner stays in force), so outgoing calls can share the same budget.

One scheduler per event loop (:func:`get_scheduler`); it keeps only a weak reference to its loop,
so loops are collected as usual. A scheduler is used from its loop's thread only.

>>> async with timeout(2.0, route="GET /reports/{id}"):
...     await call_app()
"""

from __future__ import annotations

import asyncio
import heapq
import math
import sys
import threading
import weakref
from types import TracebackType
from typing import Final

from seawall.clock import monotonic
from seawall.context.deadline import Deadline, DeadlineToken, pop_deadline, push_deadline
from seawall.errors.exceptions import RequestTimeoutError

__all__ = [
    "DEFAULT_RESOLUTION",
    "Timeout",
    "TimeoutScheduler",
    "get_scheduler",
    "running_scheduler",
    "timeout",
]

DEFAULT_RESOLUTION = 0.02
"""Bucket width in seconds: how late past its timeout a handler may be cancelled."""

_CANCEL_MESSAGE = "seawall: route timeout"

# Final: compiled code keeps these in C statics instead of looking them up by name in the
# module on every request (about 150 instructions a lookup).
_get_running_loop: Final = asyncio.get_running_loop
if sys.version_info >= (3, 12):
    _current_task: Final = asyncio.current_task
else:
    # 3.11's current_task is a Python function that reads this dict (about 800 instructions
    # a call, a frame and a lookup): read the dict itself, as it does.
    _tasks: dict[asyncio.AbstractEventLoop, asyncio.Task[object]]
    _tasks = asyncio.tasks._current_tasks  # type: ignore[attr-defined]
    _current_task: Final = _tasks.get
_monotonic: Final = monotonic
_Task: Final = asyncio.Task
_cancelling: Final = asyncio.Task.cancelling  # for asyncio's own tasks: no lookup by name
_heappush: Final = heapq.heappush  # once per new bucket, and once per bucket drained
_heappop: Final = heapq.heappop


class Timeout(Deadline):
    """One request's timeout; an ``async with`` block (see :meth:`TimeoutScheduler.timeout`).

    A timeout is a deadline that the scheduler enforces: while the block runs it is also the
    current deadline (:func:`seawall.context.deadline.remaining`), unless an outer one is sooner.
    ``cancelled`` is True once the scheduler has cancelled the block's task.
    """

    __slots__ = (
        "_bucket", "_cancelling", "_scheduler", "_seconds", "_task", "_token", "cancelled", "route",
    )  # fmt: skip

    def __init__(
        self, seconds: float | None, route: str | None, scheduler: TimeoutScheduler | None = None
    ) -> None:
        super().__init__(math.inf)  # no deadline until started
        self._scheduler = scheduler
        self._seconds = seconds if seconds is None or seconds > 0.0 else 0.0
        self.route = route
        self._task: asyncio.Task[object] | None = None
        self._bucket: set[Timeout] | None = None
        self._cancelling = 0
        self._token: DeadlineToken | None = None
        self.cancelled = False

    async def __aenter__(self) -> Timeout:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(exc)

    def start(self) -> None:
        """Register with the loop's scheduler (the sync half of ``async with``)."""
        # Per request: one clock read (the bucket is computed from the deadline itself, not
        # from loop.time()) and the scheduler of the last loop checked inline.
        seconds = self._seconds
        if seconds is None:
            return
        loop = _get_running_loop()
        scheduler = self._scheduler
        if scheduler is None:
            scheduler = _last[0]
            if scheduler is None or scheduler._loop() is not loop:
                scheduler = get_scheduler(loop)
        elif scheduler._loop() is not loop:
            raise RuntimeError("this TimeoutScheduler belongs to another event loop")
        task = _current_task(loop)
        if task is None:
            raise RuntimeError("a seawall timeout must be used inside an asyncio task")
        self._task = task
        self._cancelling = _cancelling(task) if type(task) is _Task else task.cancelling()
        at = self.at = _monotonic() + seconds
        scheduler._add(self, at, loop)
        self._token = push_deadline(seconds, None, self)

    def stop(self, exc: BaseException | None) -> None:
        """Unregister; raise :class:`RequestTimeoutError` from ``exc`` when this timeout
        cancelled the block and no other cancellation is pending."""
        token = self._token
        if token is not None:
            self._token = None
            pop_deadline(token)
        bucket = self._bucket
        if bucket is not None:  # finished in time: the common case
            bucket.discard(self)
            self._bucket = None
        elif self.cancelled:
            assert self._task is not None
            # Ours only if no other cancel request remains (as asyncio.timeout decides).
            if self._task.uncancel() <= self._cancelling and isinstance(
                exc, asyncio.CancelledError
            ):
                raise RequestTimeoutError(route=self.route) from exc

    def _expire(self) -> None:
        self._bucket = None
        self.cancelled = True
        task = self._task
        if task is not None and not task.done():
            task.cancel(msg=_CANCEL_MESSAGE)


class TimeoutScheduler:
    """Cancels overdue tasks of one event loop from coarse buckets drained by one timer."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, resolution: float = DEFAULT_RESOLUTION
    ) -> None:
        if not 0 < resolution <= 1:
            raise ValueError(f"resolution must be in (0, 1] seconds, got {resolution}")
        self.resolution = resolution
        self._per_second = 1.0 / resolution
        self._loop = weakref.ref(loop)
        self._buckets: dict[int, set[Timeout]] = {}
        # The bucket most requests join (all entries of a 20 ms window share it): found without
        # boxing the tick for a dict lookup. Forgotten whenever _fire drains or drops buckets.
        self._last_tick = -1
        self._last_bucket: set[Timeout] = set()
        self._ticks: list[int] = []  # heap of the keys of _buckets
        self._armed: float = math.inf  # tick the timer is set for
        # Weak: a timer handle refers to its loop, and the loop must stay collectable.
        self._timer: weakref.ref[asyncio.TimerHandle] | None = None

    def timeout(self, seconds: float | None, route: str | None = None) -> Timeout:
        """``async with scheduler.timeout(2.0, route):`` cancels the block after ``seconds``.

        ``None`` means no timeout. The block raises :class:`RequestTimeoutError` when this
        timeout cancelled it; any other cancellation propagates unchanged.
        """
        return Timeout(seconds, route, self)

    @property
    def pending(self) -> int:
        """Timeouts registered and not yet finished or expired."""
        return sum(len(bucket) for bucket in self._buckets.values())

    def _add(self, entry: Timeout, at: float, loop: asyncio.AbstractEventLoop) -> None:
        # Bucket k is drained at k * resolution on the monotonic clock, never before ``at``.
        tick = int(at * self._per_second) + 1
        if tick == self._last_tick:
            bucket = self._last_bucket
        else:
            found = self._buckets.get(tick)
            if found is None:
                found = self._buckets[tick] = set()
                _heappush(self._ticks, tick)
                if tick < self._armed:  # every other bucket is at or after the armed tick
                    self._arm(loop, tick)
            bucket = self._last_bucket = found
            self._last_tick = tick
        bucket.add(entry)
        entry._bucket = bucket

    def _arm(self, loop: asyncio.AbstractEventLoop, tick: int) -> None:
        timer = None if self._timer is None else self._timer()
        if timer is not None:
            timer.cancel()
        self._armed = float(tick)
        # Ticks are on the monotonic clock, the timer on the loop's: convert the delay (rare,
        # once per bucket), so requests never read the loop's clock.
        when = loop.time() + (tick * self.resolution - monotonic())
        self._timer = weakref.ref(loop.call_at(when, self._fire))

    def _fire(self) -> None:
        self._timer = None
        loop = self._loop()
        if loop is None:  # pragma: no cover - the loop runs this callback
            return
        # The loop may run a timer up to its clock resolution early: drain the armed tick anyway.
        due = max(self._armed, monotonic() * self._per_second)  # tick k is due once k <= due
        self._armed = math.inf
        self._last_tick = -1  # the remembered bucket may be drained or dropped below
        self._last_bucket = set()
        ticks, buckets = self._ticks, self._buckets
        while ticks and ticks[0] <= due:
            bucket = buckets.pop(_heappop(ticks))
            for entry in bucket:
                entry._expire()
        while ticks:  # skip buckets whose requests all finished; arm for the first live one
            if buckets[ticks[0]]:
                self._arm(loop, ticks[0])
                return
            del buckets[_heappop(ticks)]


_schedulers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TimeoutScheduler] = (
    weakref.WeakKeyDictionary()
)
_schedulers_lock = threading.Lock()


_last: Final[list[TimeoutScheduler | None]] = [None]
"""The scheduler most recently looked up, usually the only one: in a list, so compiled code
reads it from a C static, not from the module's dict (a global that is assigned is)."""


def running_scheduler() -> tuple[TimeoutScheduler, asyncio.AbstractEventLoop]:
    """The scheduler of the running loop, and that loop."""
    loop = asyncio.get_running_loop()
    return get_scheduler(loop), loop


def get_scheduler(loop: asyncio.AbstractEventLoop | None = None) -> TimeoutScheduler:
    """The scheduler of ``loop`` (default: the running loop), created on first use."""
    if loop is None:
        loop = asyncio.get_running_loop()
    scheduler = _last[0]
    if scheduler is not None and scheduler._loop() is loop:
        return scheduler
    scheduler = _schedulers.get(loop)
    if scheduler is None:
        with _schedulers_lock:
            scheduler = _schedulers.get(loop)
            if scheduler is None:
                scheduler = _schedulers[loop] = TimeoutScheduler(loop)
    _last[0] = scheduler
    return scheduler


def timeout(seconds: float | None, route: str | None = None) -> Timeout:
    """``async with timeout(2.0, route):`` on the scheduler of the loop that enters it.

    >>> async with timeout(policy.timeout, route=route):
    ...     await app(scope, receive, send)
    """
    return Timeout(seconds, route)
