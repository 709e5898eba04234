"""Readiness checks: run concurrently, each under a timeout, one run shared, results cached.

A check is a callable taking no argument, plain or ``async``. It passes by returning ``None`` or
``True``, fails by returning ``False`` or raising, or returns a dict with ``status`` (``pass``,
``warn``, ``fail``) and optional ``observedValue``, ``observedUnit`` and ``output``. A plain check
runs on a thread of its own pool, so a hung one never blocks the event loop; a check still hung
from an earlier run is not started again (it fails at once), so hung checks cannot pile up
threads. Probes arriving while a run is in flight wait for it instead of starting another; its
results are kept ``cache_for`` seconds, or ``failure_cache_for`` when one failed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from seawall.clock import Clock, monotonic

__all__ = ["CheckResult", "CheckRunner", "Status", "worst"]

T = TypeVar("T")
Status = Literal["pass", "warn", "fail"]
_ORDER: dict[Status, int] = {"pass": 0, "warn": 1, "fail": 2}
_FIELDS = ("observedValue", "observedUnit", "output")


def worst(statuses: list[Status]) -> Status:
    """The most serious of ``statuses`` (``pass`` for none)."""
    return max(statuses, key=_ORDER.__getitem__, default="pass")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome. ``details`` (observed value, unit, output) are shown only when the
    settings allow; for an exception they hold its class name, never its text."""

    name: str
    status: Status
    time: float  # wall-clock seconds since the epoch, when the check finished
    details: Mapping[str, object]


class CheckRunner:
    """The configured checks of one app, with the in-flight run and the cached results."""

    def __init__(
        self,
        checks: tuple[tuple[str, Callable[[], Any]], ...],
        *,
        timeout: float,
        cache_for: float,
        failure_cache_for: float,
        clock: Clock = monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.checks = checks
        self.timeout = timeout
        self.cache_for = cache_for
        self.failure_cache_for = failure_cache_for
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._cached: tuple[float, tuple[CheckResult, ...]] | None = None
        self._inflight: concurrent.futures.Future[tuple[CheckResult, ...]] | None = None
        self._hung: set[str] = set()  # plain checks whose thread has not returned yet
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Shut the checks' thread pool down without waiting for a hung check."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- the shared run ------------------------------------------------------------------

    def _claim(self) -> tuple[tuple[CheckResult, ...] | None, concurrent.futures.Future[Any], bool]:
        """Under the lock: fresh cached results, or the in-flight run (``True``: ours to do)."""
        with self._lock:
            cached = self._cached
            if cached is not None and self._clock() < cached[0]:
                return cached[1], concurrent.futures.Future(), False
            if self._inflight is not None:
                return None, self._inflight, False
            future: concurrent.futures.Future[tuple[CheckResult, ...]] = concurrent.futures.Future()
            self._inflight = future
            return None, future, True

    def _settle(
        self, future: concurrent.futures.Future[Any], results: tuple[CheckResult, ...]
    ) -> None:
        failed = any(r.status == "fail" for r in results)
        keep = self.failure_cache_for if failed else self.cache_for
        with self._lock:
            self._cached = (self._clock() + keep, results) if keep > 0 else None
            self._inflight = None
        future.set_result(results)

    async def arun(self) -> tuple[CheckResult, ...]:
        """The checks' results, run on this event loop (plain checks on threads) or shared."""
        if not self.checks:
            return ()
        cached, future, ours = self._claim()
        if cached is not None:
            return cached
        if not ours:
            return await asyncio.wrap_future(future)
        try:
            results = await self._gather()
        except BaseException:
            with self._lock:
                self._inflight = None
            future.set_result(self._all_failed("interrupted"))
            raise
        self._settle(future, results)
        return results

    def run(self) -> tuple[CheckResult, ...]:
        """:meth:`arun` for threads: the run gets an event loop of its own, or is shared."""
        if not self.checks:
            return ()
        cached, future, ours = self._claim()
        if cached is not None:
            return cached
        if not ours:
            shared: tuple[CheckResult, ...] = future.result()
            return shared
        try:
            results = self._on_own_loop()
        except BaseException:
            with self._lock:
                self._inflight = None
            future.set_result(self._all_failed("interrupted"))
            raise
        self._settle(future, results)
        return results

    def _on_own_loop(self) -> tuple[CheckResult, ...]:
        """The checks on a new event loop: in this thread, or, if this thread runs a loop
        already (a WSGI app called from async code), in a thread of its own."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return _run_loop(self._gather)
        with concurrent.futures.ThreadPoolExecutor(1, "seawall-health-loop") as pool:
            return pool.submit(_run_loop, self._gather).result()

    async def _gather(self) -> tuple[CheckResult, ...]:
        """Every check at once, each under the timeout."""
        return tuple(await asyncio.gather(*(self._arun_one(n, c) for n, c in self.checks)))

    def _all_failed(self, output: str) -> tuple[CheckResult, ...]:
        now = self._wall()
        return tuple(CheckResult(n, "fail", now, {"output": output}) for n, _ in self.checks)

    # -- one check -----------------------------------------------------------------------

    async def _arun_one(self, name: str, check: Callable[[], Any]) -> CheckResult:
        try:
            if inspect.iscoroutinefunction(check):
                value = await asyncio.wait_for(check(), self.timeout)
            else:
                value = await self._in_thread(name, check)
            if inspect.isawaitable(value):  # a plain function returning a coroutine
                value = await asyncio.wait_for(value, self.timeout)
        except TimeoutError:
            return self._result(name, "fail", {"output": f"timed out after {self.timeout:g} s"})
        except Exception as exc:
            return self._result(name, "fail", {"output": type(exc).__qualname__})
        return self._interpret(name, value)

    async def _in_thread(self, name: str, check: Callable[[], Any]) -> Any:
        with self._lock:
            if name in self._hung:
                raise TimeoutError  # its earlier run still holds a thread
            self._hung.add(name)
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=max(1, len(self.checks)), thread_name_prefix="seawall-health"
                )
            pool = self._pool

        def call() -> Any:
            try:
                return check()
            finally:
                with self._lock:
                    self._hung.discard(name)

        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(pool, call), self.timeout)

    def _interpret(self, name: str, value: object) -> CheckResult:
        if value is None or value is True:
            return self._result(name, "pass", {})
        if value is False:
            return self._result(name, "fail", {})
        if isinstance(value, Mapping):
            status = value.get("status")
            if status in _ORDER:
                details = {key: value[key] for key in _FIELDS if key in value}
                return self._result(name, status, details)
        return self._result(name, "fail", {"output": f"invalid result {type(value).__name__}"})

    def _result(self, name: str, status: Status, details: Mapping[str, object]) -> CheckResult:
        return CheckResult(name, status, self._wall(), details)


def _run_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()  # plain checks ran on the runner's pool, not the loop's: nothing to wait for
