"""call(), call_async(), the decorator and exception classification."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from seawall.clock import FakeClock
from seawall.config.schema import BreakerSettings
from seawall.errors.exceptions import CircuitOpenError
from seawall.resilience.breaker import CircuitBreaker, Outcome, State


def make(
    clock: FakeClock | None = None,
    classify: Any = None,
    **overrides: Any,
) -> CircuitBreaker:
    options: dict[str, Any] = {
        "window_type": "count",
        "window": 10,
        "minimum_calls": 2,
        "open_for": 10.0,
        "jitter": 0.0,
        "half_open_calls": 1,
    }
    options.update(overrides)
    return CircuitBreaker(
        "GET /things", BreakerSettings(**options), clock=clock or FakeClock(), classify=classify
    )


def boom(exc: BaseException) -> Any:
    raise exc


def half_open(breaker: CircuitBreaker, clock: FakeClock) -> None:
    breaker.force_open()
    breaker.close()
    while breaker.state is State.CLOSED:
        breaker.acquire().failure()
    clock.advance(breaker.settings.open_for)
    assert breaker.state is State.HALF_OPEN


def test_call_returns_the_result_and_counts_a_success() -> None:
    """call() runs the function with its arguments and records a success."""
    breaker = make()

    def add(a: int, b: int = 0) -> int:
        return a + b

    assert breaker.call(add, 2, b=3) == 5
    assert (breaker.snapshot().calls, breaker.snapshot().failures) == (1, 0)


def test_call_counts_an_exception_as_failure_and_reraises() -> None:
    """An exception from the function is a failure by default, and propagates."""
    breaker = make()
    with pytest.raises(ValueError, match="bad"):
        breaker.call(boom, ValueError("bad"))
    assert breaker.snapshot().failures == 1


def test_call_raises_circuit_open_without_calling_when_open() -> None:
    """An open breaker does not run the function."""
    breaker = make()
    breaker.force_open()
    called: list[int] = []
    with pytest.raises(CircuitOpenError):
        breaker.call(called.append, 1)
    assert called == []


def test_call_measures_duration_for_slow_calls() -> None:
    """call() times the function with the breaker's clock, so slow calls are counted."""
    clock = FakeClock()
    breaker = make(clock, slow_call_duration=1.0)
    breaker.call(lambda: clock.advance(2.0))
    assert breaker.snapshot().slow_calls == 1


@pytest.mark.parametrize(
    ("verdict", "calls", "failures"), [("success", 1, 0), ("ignore", 0, 0), ("failure", 1, 1)]
)
def test_classify_decides_what_an_exception_counts_as(
    verdict: Outcome, calls: int, failures: int
) -> None:
    """The injected classify(exc) turns an exception into success, ignore or failure."""
    breaker = make(classify=lambda exc: verdict)
    with pytest.raises(LookupError):
        breaker.call(boom, LookupError())
    snapshot = breaker.snapshot()
    assert (snapshot.calls, snapshot.failures) == (calls, failures)


def test_a_failing_classifier_counts_a_failure_and_keeps_the_original_error() -> None:
    """If classify itself raises, the call is a failure and the caller sees its own exception."""

    def classify(exc: BaseException) -> Outcome:
        raise RuntimeError("classifier bug")

    breaker = make(classify=classify)
    with pytest.raises(KeyError):
        breaker.call(boom, KeyError("k"))
    assert breaker.snapshot().failures == 1


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3)])
def test_keyboard_interrupt_and_system_exit_pass_through_uncounted(exc: BaseException) -> None:
    """KeyboardInterrupt and SystemExit propagate, count nothing and keep the streak."""
    breaker = make(consecutive_failures=2, minimum_calls=100)
    breaker.acquire().failure()
    with pytest.raises(type(exc)):
        breaker.call(boom, exc)
    snapshot = breaker.snapshot()
    assert (snapshot.calls, snapshot.consecutive_failures) == (1, 1)


def test_keyboard_interrupt_in_a_probe_frees_its_slot() -> None:
    """A probe interrupted by KeyboardInterrupt releases its half-open slot."""
    clock = FakeClock()
    breaker = make(clock)
    half_open(breaker, clock)
    with pytest.raises(KeyboardInterrupt):
        breaker.call(boom, KeyboardInterrupt())
    assert breaker.state is State.HALF_OPEN
    assert breaker.try_acquire() is not None


def test_call_async_counts_success_and_failure() -> None:
    """call_async awaits the coroutine function and records its outcome."""
    breaker = make(minimum_calls=100)

    async def ok(x: int) -> int:
        return x * 2

    async def bad() -> None:
        raise OSError("down")

    async def main() -> int:
        result = await breaker.call_async(ok, 21)
        with pytest.raises(OSError, match="down"):
            await breaker.call_async(bad)
        return result

    assert asyncio.run(main()) == 42
    assert (breaker.snapshot().calls, breaker.snapshot().failures) == (2, 1)


def test_cancelled_error_is_ignored_and_reraised() -> None:
    """CancelledError raised by the callee is not the callee's failure: ignored, re-raised."""
    breaker = make(minimum_calls=100)

    async def cancelled() -> None:
        raise asyncio.CancelledError

    async def main() -> None:
        with pytest.raises(asyncio.CancelledError):
            await breaker.call_async(cancelled)

    asyncio.run(main())
    assert breaker.snapshot().calls == 0


def test_decorator_guards_a_sync_function() -> None:
    """@breaker wraps a function, keeping its name, and runs it through call()."""
    breaker = make()

    @breaker
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8
    assert double.__name__ == "double"
    breaker.force_open()
    with pytest.raises(CircuitOpenError):
        double(1)


def test_decorator_guards_a_coroutine_function() -> None:
    """@breaker on an async function returns an async function run through call_async()."""
    breaker = make()

    @breaker
    async def double(x: int) -> int:
        return 2 * x

    assert asyncio.iscoroutinefunction(double)
    assert asyncio.run(double(4)) == 8
    assert breaker.snapshot().calls == 1
