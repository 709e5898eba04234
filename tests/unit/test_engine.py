"""The policy engine: admission and outcome recording for any caller, with no protocol around it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from seawall.clock import FakeClock
from seawall.config.schema import PolicySettings
from seawall.config.sections.policy import parse_policy
from seawall.context.deadline import remaining
from seawall.errors.exceptions import (
    BulkheadFullError,
    CircuitOpenError,
    RequestTimeoutError,
)
from seawall.resilience.breaker import BreakerEvent, State
from seawall.resilience.engine import NO_ANSWER, PolicyEngine

BREAKER = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}


def policy(**data: Any) -> PolicySettings:
    return parse_policy("test", data)


def engine(clock: FakeClock | None = None, **data: Any) -> PolicyEngine:
    return PolicyEngine("GET /x", policy(**data), clock=clock or FakeClock())


def boom() -> None:
    raise ConnectionError("down")


def test_call_runs_the_function_and_failures_open_the_breaker() -> None:
    """``call`` returns the function's value; a failure in two calls trips the breaker, which
    then refuses without running the function, with the time until it half-opens."""
    e = engine(breaker=BREAKER)
    assert e.call(lambda a, b: a + b, 1, b=2) == 3
    with pytest.raises(ConnectionError):
        e.call(boom)
    ran: list[int] = []
    with pytest.raises(CircuitOpenError) as refused:
        e.call(ran.append, 1)
    assert ran == []
    assert e.breaker is not None
    assert e.breaker.state is State.OPEN
    assert refused.value.retry_after == e.breaker.retry_after() > 0


async def test_acall_awaits_and_records_like_call() -> None:
    """``acall`` is ``call`` for coroutines: same value, same outcome rule."""
    e = engine(breaker=BREAKER)

    async def add(a: int, b: int) -> int:
        return a + b

    async def fail() -> None:
        raise ConnectionError("down")

    assert await e.acall(add, 1, 2) == 3
    with pytest.raises(ConnectionError):
        await e.acall(fail)
    with pytest.raises(CircuitOpenError):
        await e.acall(add, 1, 2)


async def test_acall_timeout_cancels_for_real_and_counts_as_a_failure() -> None:
    """The timeout cancels the awaited call; the breaker hears a failure."""
    e = PolicyEngine("GET /x", policy(timeout=0.01, breaker={**BREAKER, "minimum_calls": 1}))
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(RequestTimeoutError):
        await e.acall(slow)
    assert cancelled.is_set()
    assert e.breaker is not None
    assert e.breaker.state is State.OPEN


def test_call_sets_the_deadline_for_the_function_and_ends_it_after() -> None:
    """Inside a timed call ``remaining()`` tells the time left; after it, there is none."""
    e = engine(timeout=2.0)
    seen = e.call(remaining)
    assert seen is not None
    assert 0 < seen <= 2.0
    assert remaining() is None


@pytest.mark.parametrize(
    ("status", "failure", "counted_failure"),
    [
        (None, None, False),  # a call that returned
        (200, None, False),
        (404, None, False),
        (503, None, True),
        (NO_ANSWER, None, True),  # the work ended without an answer
        (None, ConnectionError("down"), True),
    ],
)
def test_the_outcome_rule(
    status: int | None, failure: BaseException | None, counted_failure: bool
) -> None:
    """One rule for every caller: errors are classified, statuses judged, no answer fails."""
    e = engine(breaker=BREAKER)
    e.enter().finish(status, failure)
    assert e.breaker is not None
    snapshot = e.breaker.snapshot()
    assert (snapshot.calls, snapshot.failures) == (1, int(counted_failure))


def test_a_full_bulkhead_refuses_and_tells_the_observer() -> None:
    """With every slot taken and no queue, admission is refused; the slot comes back on finish."""
    told: list[None] = []
    e = PolicyEngine(
        "GET /x", policy(max_concurrency=1, max_queue=0), on_saturated=lambda: told.append(None)
    )
    held = e.enter()
    with pytest.raises(BulkheadFullError):
        e.enter()
    assert told == [None]
    held.finish(200, None)
    e.enter().finish(200, None)
    assert e.bulkhead is not None
    assert e.bulkhead.snapshot().in_use == 0


def test_a_refused_admission_gives_back_its_bulkhead_slot() -> None:
    """A breaker refusal after the bulkhead admitted frees the slot at once."""
    e = engine(max_concurrency=1, breaker=BREAKER)
    assert e.breaker is not None
    e.breaker.force_open()
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            e.enter()
    assert e.bulkhead is not None
    assert e.bulkhead.snapshot().in_use == 0


def test_transitions_reach_the_listener() -> None:
    """The engine hands its breaker's state changes to ``on_transition``."""
    events: list[BreakerEvent] = []
    e = PolicyEngine("GET /x", policy(breaker=BREAKER), on_transition=events.append)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            e.call(boom)
    assert [(str(ev.old_state), str(ev.new_state)) for ev in events] == [("closed", "open")]


def test_many_threads_share_one_engine() -> None:
    """64 threads x 200 calls through one bulkhead of 8: never more than 8 at once, every slot
    given back, every call counted."""
    e = PolicyEngine(
        "GET /x", policy(max_concurrency=8, max_queue=64, max_wait=30, breaker=BREAKER)
    )
    lock = threading.Lock()
    active = peak = 0
    start = threading.Barrier(64)

    def work() -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        with lock:
            active -= 1

    def worker() -> None:
        start.wait()
        for _ in range(200):
            e.call(work)

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak <= 8
    assert e.bulkhead is not None
    assert e.bulkhead.snapshot().in_use == 0
    assert e.breaker is not None
    assert e.breaker.snapshot().failures == 0


def test_the_core_imports_no_protocol_or_framework() -> None:
    """The engine, the pipeline and the event bus load without ASGI, WSGI or any framework."""
    code = (
        "import sys, json, seawall.resilience.engine, seawall.server.pipeline, "
        "seawall.observability.events; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    banned = (
        "seawall.asgi",
        "seawall.wsgi",
        "seawall.integrations",
        "starlette",
        "django",
        "flask",
    )
    assert [m for m in loaded if m.startswith(banned)] == []
