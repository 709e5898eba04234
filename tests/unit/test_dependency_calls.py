"""``seawall.dependency(name)``: the decorator, ``call``/``acall`` and ``with`` blocks run the
dependency's policy: deadline, bulkhead, breaker, retries, fallback, events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import seawall
from seawall.clock import FakeClock
from seawall.context.deadline import deadline_scope, remaining
from seawall.observability.events import (
    DependencyCalled,
    DependencyFailed,
    DependencyRetry,
)


def make(config: dict[str, Any], clock: FakeClock | None = None, **kw: Any) -> seawall.Dependencies:
    """Dependencies on a fake clock, a second old: the budget's floor holds a second's worth."""
    clock = clock or FakeClock(100.0)
    deps = seawall.Dependencies(
        {"dependencies": config}, clock=clock, sleep=clock.advance, random=lambda: 0.5, **kw
    )
    clock.advance(1.0)
    return deps


class Flaky:
    """Fails ``failures`` times with ``error``, then returns ``"ok"``."""

    def __init__(self, failures: int, error: BaseException | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("reset by peer")
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def of(events: list[object], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


# -- decorator and call ------------------------------------------------------------------------


def test_decorator_made_at_import_resolves_at_first_call() -> None:
    """A handle made before any settings exist works once settings arrive."""
    flaky = Flaky(0)
    guarded = seawall.dependency("payments")(flaky)  # nothing configured yet: fine
    make({"payments": {}})
    assert guarded(1, key="v") == "ok"


def test_unknown_name_is_an_error_naming_the_known_ones() -> None:
    """A name the settings do not declare fails at the call, listing the names that exist."""
    make({"payments": {}, "search": {}})
    with pytest.raises(seawall.UnknownDependencyError, match="'payments', 'search'"):
        seawall.dependency("paymnts").call(print)


def test_no_settings_at_all_is_an_error_saying_how_to_configure() -> None:
    """Before any install or Dependencies, a call says how to configure one."""
    from seawall.client import dependencies

    dependencies._activate(None)
    with pytest.raises(seawall.UnknownDependencyError, match=r"seawall.Dependencies\(settings\)"):
        seawall.dependency("payments").call(print)


def test_the_most_recent_dependencies_win_and_handles_follow() -> None:
    """Each new Dependencies (or install) becomes the default; a handle follows it."""
    handle = seawall.dependency("payments")
    first = make({"payments": {}})
    assert handle.resolve() is first["payments"]
    second = make({"payments": {}})
    assert handle.resolve() is second["payments"]
    make({"payments": {}}, activate=False)  # a private one changes nothing
    assert handle.resolve() is second["payments"]
    assert first.dependency("payments").resolve() is first["payments"]  # pinned


def test_an_install_with_dependencies_becomes_the_default() -> None:
    """Installing seawall in an app with a dependencies section sets the default."""
    app = seawall.ASGIMiddleware(_ok_app, {"dependencies": {"payments": {"timeout": 1}}})
    assert seawall.dependency("payments").resolve() is app.pipeline.dependencies["payments"]  # type: ignore[index]
    before = seawall.dependency("payments").resolve()
    seawall.ASGIMiddleware(_ok_app, {})  # an install without the section changes nothing
    assert seawall.dependency("payments").resolve() is before


async def _ok_app(scope: Any, receive: Any, send: Any) -> None:
    return None


def test_transient_errors_are_retried_until_success(events: list[object]) -> None:
    """ConnectionError is transient: retried up to ``attempts``, with backoff between."""
    make({"payments": {"retry": {"attempts": 3}}}, FakeClock(100.0))
    flaky = Flaky(2)
    assert seawall.dependency("payments")(flaky)() == "ok"
    assert flaky.calls == 3
    assert [e.outcome for e in of(events, DependencyRetry)] == ["retried", "retried"]
    (called,) = of(events, DependencyCalled)
    assert (called.outcome, called.attempts) == ("success", 3)


def test_attempts_exhausted_raise_the_last_error_and_say_final(events: list[object]) -> None:
    """After the last attempt the caller gets the error; the failure event says it is final,
    with what a dead-letter queue needs to replay the call."""
    make({"payments": {"retry": {"attempts": 2}}})
    flaky = Flaky(5)
    with pytest.raises(ConnectionError):
        seawall.dependency("payments").call(flaky, 7, mode="x")
    assert flaky.calls == 2
    failed = of(events, DependencyFailed)
    assert [f.final for f in failed] == [False, True]
    assert failed[-1].fn is flaky
    assert failed[-1].args == (7,)
    assert failed[-1].kwargs == {"mode": "x"}
    assert failed[-1].attempts == 2
    assert len(failed[-1].errors) == 2
    assert of(events, DependencyCalled)[-1].outcome == "failure"


def test_classifications_not_listed_are_not_retried() -> None:
    """A ValueError (not transient) fails at once; an unknown one too, unless listed."""
    make({"payments": {"retry": {"attempts": 3}},
          "lenient": {"retry": {"attempts": 3, "on": ["unknown", "validation"]}}})  # fmt: skip
    flaky = Flaky(1, KeyError("k"))
    with pytest.raises(KeyError):
        seawall.dependency("payments").call(flaky)
    assert flaky.calls == 1
    assert seawall.dependency("lenient").call(Flaky(1, KeyError("k"))) == "ok"


def test_errors_map_classifications_decide_retries() -> None:
    """An app exception mapped as transient in ``errors.map`` is retried."""
    clock = FakeClock(100.0)
    seawall.Dependencies(
        {"errors": {"map": {"builtins.BlockingIOError":
                            {"status": 503, "classification": "transient"}}},
         "dependencies": {"db": {"retry": {"attempts": 2}}}},
        clock=clock, sleep=clock.advance,
    )  # fmt: skip
    clock.advance(1.0)
    assert seawall.dependency("db").call(Flaky(1, BlockingIOError())) == "ok"


def test_budget_refusal_raises_the_last_error_at_once(events: list[object]) -> None:
    """With the budget spent, a retry is refused: the first error comes back immediately."""
    make({"payments": {"retry": {"attempts": 3, "budget": {"ratio": 0.0, "min_per_second": 0}}}})
    flaky = Flaky(5)
    with pytest.raises(ConnectionError):
        seawall.dependency("payments").call(flaky)
    assert flaky.calls == 1
    assert [e.outcome for e in of(events, DependencyRetry)] == ["budget_exhausted"]


def test_no_retry_whose_backoff_ends_past_the_deadline(events: list[object]) -> None:
    """A backoff (0.5 s with this jitter) longer than the 0.2 s left is not started."""
    clock = FakeClock(100.0)
    make({"payments": {"retry": {"attempts": 3, "backoff": 1.0}}}, clock)
    flaky = Flaky(5)
    with deadline_scope(0.2, clock=clock), pytest.raises(ConnectionError):
        seawall.dependency("payments").call(flaky)
    assert flaky.calls == 1
    assert [e.outcome for e in of(events, DependencyRetry)] == ["deadline"]


def test_a_passed_deadline_refuses_without_calling(events: list[object]) -> None:
    """DeadlineExceededError, and the function never runs."""
    clock = FakeClock(100.0)
    make({"payments": {}}, clock)
    flaky = Flaky(0)
    with deadline_scope(1.0, clock=clock):
        clock.advance(2.0)
        with pytest.raises(seawall.DeadlineExceededError):
            seawall.dependency("payments").call(flaky)
    assert flaky.calls == 0
    assert of(events, DependencyCalled)[-1].outcome == "rejected"


def test_sync_calls_see_the_smaller_of_timeout_and_deadline() -> None:
    """Inside the call, remaining() is min(timeout, the request's time left)."""
    make({"payments": {"timeout": 0.5}})
    seen: list[float | None] = []
    seawall.dependency("payments").call(lambda: seen.append(remaining()))
    with deadline_scope(0.2):
        seawall.dependency("payments").call(lambda: seen.append(remaining()))
    assert seen[0] is not None
    assert 0.4 < seen[0] <= 0.5
    assert seen[1] is not None
    assert seen[1] <= 0.2


def test_open_breaker_raises_circuit_open_without_calling(events: list[object]) -> None:
    """Failures open the breaker; then calls are refused with CircuitOpenError."""
    deps = make({"payments": {"breaker": {"minimum_calls": 3, "failure_rate": 0.5}}})
    flaky = Flaky(100)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            seawall.dependency("payments").call(flaky)
    with pytest.raises(seawall.CircuitOpenError) as caught:
        seawall.dependency("payments").call(flaky)
    assert flaky.calls == 3
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1
    ((name, breaker, critical),) = deps.breakers()
    assert (name, breaker.state.value, critical) == ("payments", "open", False)


def test_authorization_errors_do_not_open_the_breaker() -> None:
    """A refusal of the caller (PermissionError) is not an outage: the breaker stays closed."""
    deps = make({"payments": {"breaker": {"minimum_calls": 2, "failure_rate": 0.5}}})
    for _ in range(5):
        with pytest.raises(PermissionError):
            seawall.dependency("payments").call(Flaky(1, PermissionError("no")))
    assert deps["payments"].breaker.state.value == "closed"  # type: ignore[union-attr]


def test_a_refused_retry_after_the_breaker_opened_gives_the_last_error(
    events: list[object],
) -> None:
    """The breaker opening between attempts stops the retries with the attempt's own error."""
    deps = make({"payments": {"retry": {"attempts": 3},
                              "breaker": {"minimum_calls": 1, "failure_rate": 0.5}}})  # fmt: skip
    with pytest.raises(ConnectionError):
        deps["payments"].call(Flaky(5))
    assert [e.outcome for e in of(events, DependencyRetry)] == ["retried", "rejected"]


def test_fallback_answers_refused_and_failed_calls(events: list[object]) -> None:
    """The fallback gets a FallbackCall with the reason; its value is the call's result."""
    make({"payments": {"fallback": "tests.unit.test_dependency_calls.cached",
                       "breaker": {"minimum_calls": 1}}})  # fmt: skip
    assert seawall.dependency("payments").call(Flaky(1), 3) == "cached failure 3"
    assert seawall.dependency("payments").call(Flaky(0), 4) == "cached circuit_open 4"
    assert [e.outcome for e in of(events, DependencyCalled)] == ["fallback", "fallback"]


def cached(call: seawall.FallbackCall) -> str:
    return f"cached {call.reason} {call.args[0]}"


def test_fallback_is_not_used_for_the_callers_own_mistakes() -> None:
    """A refusal of the caller is an answer, not an outage: it reaches the caller."""
    make({"payments": {"fallback": "tests.unit.test_dependency_calls.cached"}})
    with pytest.raises(PermissionError):
        seawall.dependency("payments").call(Flaky(1, PermissionError()), 1)


def test_keyboard_interrupt_is_not_retried_and_frees_the_slot() -> None:
    """BaseExceptions pass through at once and give the bulkhead slot back."""
    deps = make({"payments": {"max_concurrency": 1, "retry": {"attempts": 3}}})
    flaky = Flaky(1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        seawall.dependency("payments").call(flaky)
    assert flaky.calls == 1
    assert deps["payments"].engine.bulkhead.snapshot().in_use == 0  # type: ignore[union-attr]


def test_full_bulkhead_raises_bulkhead_full() -> None:
    """With the only slot taken, a call is refused with BulkheadFullError."""
    make({"payments": {"max_concurrency": 1}})
    handle = seawall.dependency("payments")
    with handle, pytest.raises(seawall.BulkheadFullError):
        handle.call(print)


# -- async -------------------------------------------------------------------------------------


async def test_async_decorator_retries_and_returns() -> None:
    """``async def`` functions are decorated as coroutines, with the same retries."""
    clock = FakeClock(100.0)
    make({"payments": {"retry": {"attempts": 3, "backoff": 0.001}}}, clock)
    flaky = Flaky(2)

    @seawall.dependency("payments")
    async def charge(x: int) -> str:
        return flaky(x)

    assert asyncio.iscoroutinefunction(charge)
    assert await charge(1) == "ok"
    assert flaky.calls == 3


async def test_async_attempts_are_cancelled_at_the_deadline(events: list[object]) -> None:
    """A 2 s call with 0.1 s left is cut at about 0.1 s (a timeout, no retry past it)."""
    make({"payments": {"timeout": 5, "retry": {"attempts": 3}}})
    loop = asyncio.get_running_loop()
    with deadline_scope(0.1):
        t0 = loop.time()
        with pytest.raises(seawall.RequestTimeoutError):
            await seawall.dependency("payments").acall(asyncio.sleep, 2.0)
    assert loop.time() - t0 < 1.0
    assert of(events, DependencyCalled)[-1].outcome == "timeout"


async def test_async_fallback_may_be_a_coroutine() -> None:
    """An async fallback is awaited."""
    make({"payments": {"fallback": "tests.unit.test_dependency_calls.acached",
                       "breaker": {"minimum_calls": 1}}})  # fmt: skip

    async def boom(x: int) -> str:
        raise ConnectionError

    assert await seawall.dependency("payments").acall(boom, 1) == "async failure"
    assert await seawall.dependency("payments").acall(boom, 1) == "async circuit_open"


async def acached(call: seawall.FallbackCall) -> str:
    return f"async {call.reason}"


# -- blocks ------------------------------------------------------------------------------------


def test_with_block_records_without_retrying(events: list[object]) -> None:
    """A block runs once; its error is recorded and raised."""
    deps = make({"payments": {"retry": {"attempts": 3}, "breaker": {"minimum_calls": 2}}})
    runs = 0

    def block() -> None:
        nonlocal runs
        with seawall.dependency("payments"):
            runs += 1
            raise ConnectionError

    for _ in range(2):
        with pytest.raises(ConnectionError):
            block()
    assert runs == 2
    assert deps["payments"].breaker.state.value == "open"  # type: ignore[union-attr]
    with pytest.raises(seawall.CircuitOpenError), seawall.dependency("payments"):
        runs += 1
    assert runs == 2
    assert [e.outcome for e in of(events, DependencyCalled)] == ["failure", "failure", "rejected"]


def test_nested_and_repeated_blocks_keep_their_own_admissions() -> None:
    """One handle entered twice (nested) frees both slots, innermost first."""
    deps = make({"payments": {"max_concurrency": 2}})
    handle = seawall.dependency("payments")
    bulkhead = deps["payments"].engine.bulkhead
    assert bulkhead is not None
    with handle:
        with handle:
            assert bulkhead.snapshot().in_use == 2
        assert bulkhead.snapshot().in_use == 1
    assert bulkhead.snapshot().in_use == 0


async def test_async_with_block_is_cut_at_its_timeout() -> None:
    """``async with`` cancels the block at the timeout: RequestTimeoutError."""
    make({"payments": {"timeout": 0.05}})
    with pytest.raises(seawall.RequestTimeoutError):
        async with seawall.dependency("payments"):
            await asyncio.sleep(2)


async def test_async_with_block_success_frees_its_slot(events: list[object]) -> None:
    deps = make({"payments": {"max_concurrency": 1, "timeout": 1}})
    async with seawall.dependency("payments"):
        await asyncio.sleep(0)
    assert deps["payments"].engine.bulkhead.snapshot().in_use == 0  # type: ignore[union-attr]
    assert of(events, DependencyCalled)[-1].outcome == "success"


def test_exit_without_enter_is_an_error() -> None:
    make({"payments": {}})
    with pytest.raises(RuntimeError, match="without being entered"):
        seawall.dependency("payments").__exit__(None, None, None)


def test_handle_needs_a_name_and_decorates_callables() -> None:
    with pytest.raises(TypeError):
        seawall.dependency("")
    with pytest.raises(TypeError):
        seawall.dependency("payments")(3)  # type: ignore[call-overload]
    assert repr(seawall.dependency("payments")) == "seawall.dependency('payments')"


def status_error(status: int) -> Exception:
    import httpx

    request = httpx.Request("GET", "https://api.example/")
    return httpx.HTTPStatusError("status", request=request, response=httpx.Response(status))


def test_raise_for_status_429_is_retried_and_never_opens_the_breaker() -> None:
    """``raise_for_status()`` inside a decorated function: 429 is a rate limit (retried, not a
    breaker failure), 503 transient (retried, a failure), 404 an answer (neither)."""
    deps = make({"api": {"retry": {"attempts": 2, "budget": {"ratio": 1.0}},
                         "breaker": {"minimum_calls": 2, "failure_rate": 0.5}}})  # fmt: skip
    limited = Flaky(10, status_error(429))
    for _ in range(3):
        with pytest.raises(Exception, match="status"):
            deps["api"].call(limited)
    assert limited.calls == 6
    assert deps["api"].breaker.state.value == "closed"  # type: ignore[union-attr]
    missing = Flaky(10, status_error(404))
    with pytest.raises(Exception, match="status"):
        deps["api"].call(missing)
    assert missing.calls == 1
    with pytest.raises(Exception, match="status"):
        deps["api"].call(Flaky(10, status_error(503)))
    assert deps["api"].breaker.state.value == "open"  # type: ignore[union-attr]


def test_dependencies_list_their_breakers_for_readiness() -> None:
    """``breakers()`` yields (name, breaker, critical) of each dependency with a breaker,
    in settings order; iterating gives every dependency."""
    deps = make({"payments": {"breaker": True, "critical": True, "hosts": ["*.pay.example"]},
                 "cache": {}, "search": {"breaker": {"minimum_calls": 5}}})  # fmt: skip
    assert deps.for_host("API.pay.example") is deps["payments"]
    assert deps.for_host("pay.example") is None
    assert [d.name for d in deps] == ["payments", "cache", "search"]
    listed = [(name, critical) for name, _, critical in deps.breakers()]
    assert listed == [("payments", True), ("search", False)]
    assert repr(deps) == "<Dependencies payments, cache, search>"
