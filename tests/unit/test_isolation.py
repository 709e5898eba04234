"""Thread isolation for WSGI: a result or a 504 at the deadline, with bounded, counted leftovers."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from seawall.deadline import deadline_scope, remaining
from seawall.errors.exceptions import BulkheadFullError, RequestTimeoutError
from seawall.resilience.isolation import IsolationPool, run_isolated

SHORT = 0.05
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@pytest.fixture
def pool() -> Iterator[IsolationPool]:
    with IsolationPool(max_workers=2) as pool:
        yield pool


def test_returns_the_result(pool: IsolationPool) -> None:
    """A call that finishes in time returns its result."""
    assert run_isolated(lambda: 42, 1.0, pool=pool) == 42


def test_raises_the_handlers_exception(pool: IsolationPool) -> None:
    """An exception in the handler reaches the caller unchanged."""

    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        run_isolated(fail, 1.0, pool=pool)


def test_runs_in_a_copy_of_the_callers_context(pool: IsolationPool) -> None:
    """Context variables set by the caller (correlation id, deadline) are visible to the handler."""
    token = request_id.set("abc")
    try:
        with deadline_scope(5.0):
            seen = run_isolated(lambda: (request_id.get(), remaining()), 1.0, pool=pool)
    finally:
        request_id.reset(token)
    assert seen[0] == "abc"
    assert seen[1] is not None
    assert 0 < seen[1] <= 5.0


def test_raises_request_timeout_at_the_deadline(pool: IsolationPool) -> None:
    """A handler still running at the timeout yields RequestTimeoutError naming the route."""
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError) as info:
        run_isolated(lambda: release.wait(5), SHORT, pool=pool, route="GET /slow")
    elapsed = time.monotonic() - started
    release.set()
    assert info.value.route == "GET /slow"
    assert SHORT <= elapsed < 1.0


def test_abandoned_work_is_counted_until_it_finishes() -> None:
    """Timed-out work counts as abandoned while it runs, then as completed after abandon."""
    release = threading.Event()
    with IsolationPool(max_workers=2) as pool:
        with pytest.raises(RequestTimeoutError):
            run_isolated(lambda: release.wait(5), SHORT, pool=pool)
        during = pool.snapshot()
        release.set()
    after = pool.snapshot()  # the pool is shut down: its workers have finished
    assert (during.running, during.abandoned, during.completed_after_abandon) == (1, 1, 0)
    assert (after.running, after.abandoned, after.completed_after_abandon) == (0, 0, 1)


def test_full_pool_rejects_instead_of_starting_threads() -> None:
    """With every worker busy, a new call is refused with BulkheadFullError."""
    release = threading.Event()
    with IsolationPool(max_workers=1) as pool:
        with pytest.raises(RequestTimeoutError):
            run_isolated(lambda: release.wait(5), SHORT, pool=pool)
        with pytest.raises(BulkheadFullError):
            run_isolated(lambda: 1, 1.0, pool=pool, route="GET /r")
        snapshot = pool.snapshot()
        release.set()
    assert (snapshot.threads, snapshot.rejected) == (1, 1)


def test_abandoned_limit_rejects_while_workers_are_free() -> None:
    """Once max_abandoned calls are abandoned, new calls are refused even with idle workers."""
    release = threading.Event()
    with IsolationPool(max_workers=3, max_abandoned=1) as pool:
        with pytest.raises(RequestTimeoutError):
            run_isolated(lambda: release.wait(5), SHORT, pool=pool)
        with pytest.raises(BulkheadFullError):
            run_isolated(lambda: 1, 1.0, pool=pool)
        release.set()


def test_workers_are_reused() -> None:
    """Sequential calls reuse one worker thread."""
    with IsolationPool(max_workers=4) as pool:
        for n in range(20):
            assert run_isolated(lambda n=n: n, 1.0, pool=pool) == n  # type: ignore[misc]
        assert pool.snapshot().threads == 1


def test_concurrent_callers_never_exceed_max_workers() -> None:
    """Many request threads at once: each gets a result or a rejection, threads stay bounded."""
    outcomes: list[str] = []
    gate = threading.Barrier(8)

    with IsolationPool(max_workers=2) as pool:

        def request() -> None:
            gate.wait()
            try:
                run_isolated(lambda: time.sleep(0.001), 1.0, pool=pool)
                outcomes.append("ok")
            except BulkheadFullError:
                outcomes.append("rejected")

        threads = [threading.Thread(target=request) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        snapshot = pool.snapshot()
    assert len(outcomes) == 8
    assert "ok" in outcomes
    assert snapshot.threads <= 2
    assert snapshot.running == 0


def test_shut_down_pool_refuses_calls() -> None:
    """After shutdown, run_isolated raises RuntimeError."""
    pool = IsolationPool(max_workers=1)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        run_isolated(lambda: 1, 1.0, pool=pool)


def test_rejects_invalid_bounds() -> None:
    """max_workers must be positive and max_abandoned within it."""
    with pytest.raises(ValueError, match="max_workers"):
        IsolationPool(max_workers=0)
    with pytest.raises(ValueError, match="max_abandoned"):
        IsolationPool(max_workers=2, max_abandoned=3)
