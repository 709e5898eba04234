"""The fast paths of dependency calls keep their contracts: a rejection nobody listens to is
still a full, fresh ``CircuitOpenError``; listeners and fallbacks added later are heard; the
httpx transport copies timeouts only when one is over and keeps a subclass's override."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref
from typing import Any

import httpx
import pytest

import seawall
from seawall.clock import FakeClock
from seawall.context.deadline import deadline_scope
from seawall.events import subscribe
from seawall.integrations.httpx import Transport
from seawall.observability.events import DependencyCalled, DependencyFailed


def down(config: dict[str, Any] | None = None) -> seawall.Dependencies:
    deps = seawall.Dependencies(
        {"dependencies": {"down": {"breaker": True, **(config or {})}}}, clock=FakeClock(100.0)
    )
    deps["down"].breaker.force_open()  # type: ignore[union-attr]
    return deps


def work(x: int) -> int:
    return x


def rejected(fn: Any) -> seawall.CircuitOpenError:
    with pytest.raises(seawall.CircuitOpenError) as info:
        fn(1)
    return info.value


def test_a_quiet_rejection_is_a_whole_fresh_circuit_open_error() -> None:
    """No listener, no fallback: still the route, a Retry-After, a message, a new instance
    whose traceback starts at the caller (no shared, growing one)."""
    down({"breaker": {"open_for": 7.5}})
    guarded = seawall.dependency("down")(work)
    first, second = rejected(guarded), rejected(guarded)
    assert first is not second
    assert (second.route, second.retry_after, second.status) == ("down", 8, 503)
    assert str(second) == "circuit_open on route down"
    depth = 0
    tb = second.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    assert depth <= 3  # the test's frame, pytest.raises' and the wrapper: not one per call


def test_a_rejection_built_the_cheap_way_is_the_constructors_twin() -> None:
    """Built without the Python ``__init__`` (slots, no instance dict): the same attributes,
    message, repr and args as ``CircuitOpenError(name, retry_after=...)``; pickled and copied
    whole; seawall's 503 problem with ``Retry-After``."""
    from seawall.errors.problems import ProblemRegistry

    down({"breaker": {"open_for": 7.5}})
    cheap = rejected(seawall.dependency("down")(work))
    made = seawall.CircuitOpenError("down", retry_after=8)
    for exc in (cheap, made):
        assert (exc.route, exc.retry_after, str(exc), repr(exc), exc.args) == (
            "down", 8, "circuit_open on route down", "CircuitOpenError('down')", ("down",)
        )  # fmt: skip
        exc.note = "kept"  # type: ignore[attr-defined]  # an attribute of the caller's own
        for twin in (pickle.loads(pickle.dumps(exc)), copy.copy(exc)):
            assert type(twin) is seawall.CircuitOpenError
            assert (twin.route, twin.retry_after, str(twin), twin.args) == (
                "down", 8, "circuit_open on route down", ("down",)
            )  # fmt: skip
            assert twin.note == "kept"  # type: ignore[attr-defined]
        problem = ProblemRegistry().to_problem(exc, correlation_id=None, instance=None)
        assert (problem.status, problem.headers["Retry-After"]) == (503, "8")
    assert "route" not in vars(cheap)  # in a slot: no dict made for it


def test_a_rejection_is_freed_without_the_garbage_collector() -> None:
    """No reference cycle through the wrapper's frame: with the collector off, a caught
    rejection dies as soon as the caller drops it."""
    down()
    guarded = seawall.dependency("down")(work)
    gc.disable()
    try:
        try:
            guarded(1)
        except seawall.CircuitOpenError as exc:
            ref = weakref.ref(exc)
        assert ref() is None
    finally:
        gc.enable()


def test_a_listener_subscribed_after_quiet_rejections_hears_the_next() -> None:
    """The fast path reads who listens again after any subscription: a DependencyFailed
    listener alone (the dead-letter recorder's case) or a DependencyCalled one."""
    down()
    guarded = seawall.dependency("down")(work)
    rejected(guarded)
    failed: list[DependencyFailed] = []
    stop = subscribe(DependencyFailed, failed.append)
    try:
        rejected(guarded)
    finally:
        stop()
    assert len(failed) == 1
    called: list[DependencyCalled] = []
    stop = subscribe(DependencyCalled, called.append)
    try:
        rejected(guarded)
    finally:
        stop()
    assert [e.outcome for e in called] == ["rejected"]


def fallback_value(call: Any) -> str:
    return f"fallback for {call.reason}"


def test_a_rejection_with_a_fallback_is_answered_not_raised() -> None:
    down({"fallback": "tests.unit.test_dependency_fast_paths.fallback_value"})
    answer: object = seawall.dependency("down")(work)(1)
    assert answer == "fallback for circuit_open"


# -- the httpx transport ----------------------------------------------------------------------


class Recorder(httpx.BaseTransport):
    def __init__(self) -> None:
        self.timeouts: list[dict[str, float | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.append(request.extensions["timeout"])
        return httpx.Response(200)


def payments() -> seawall.Dependencies:
    return seawall.Dependencies(
        {"dependencies": {"payments": {"hosts": ["api.payments.example"], "timeout": 2.0}}}
    )


def test_timeouts_within_the_attempt_are_kept_and_only_those_over_are_cut() -> None:
    """All under 2 s: the request's own dict, untouched. One over: a new dict, only it cut."""
    deps = payments()
    inner = Recorder()
    transport = Transport(inner, dependencies=deps)
    within = {"connect": 0.5, "read": 1.0, "write": 1.0, "pool": 0.1}
    request = httpx.Request("GET", "https://api.payments.example/", extensions={"timeout": within})
    transport.handle_request(request)
    assert inner.timeouts[-1] is within
    mixed = {"connect": 0.5, "read": 1.0, "write": 1.0, "pool": 10.0}
    request = httpx.Request("GET", "https://api.payments.example/", extensions={"timeout": mixed})
    transport.handle_request(request)
    assert inner.timeouts[-1] == {"connect": 0.5, "read": 1.0, "write": 1.0, "pool": 2.0}
    assert mixed["pool"] == 10.0  # the caller's dict is never changed in place
    request = httpx.Request("GET", "https://api.payments.example/", extensions={})
    transport.handle_request(request)
    assert inner.timeouts[-1] == dict.fromkeys(("connect", "read", "write", "pool"), 2.0)


def test_a_subclass_overriding_handle_request_is_called() -> None:
    """The compiled send is bound straight onto the instance only when nothing overrides it."""
    seen: list[str] = []

    class Logged(Transport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.method)
            return super().handle_request(request)

    inner = Recorder()
    with httpx.Client(transport=Logged(inner, dependencies=payments())) as client:
        assert client.get("https://api.payments.example/").status_code == 200
    assert seen == ["GET"]
    assert inner.timeouts[-1]["read"] == 2.0  # and seawall's work still ran


def test_timeouts_all_over_get_a_new_dict_per_request() -> None:
    """Every timeout over the attempt's time: each request gets its own new dict (the cached
    template is copied, never shared), and a different time gets its own values."""
    deps = payments()
    inner = Recorder()
    transport = Transport(inner, dependencies=deps)
    for _ in range(2):
        request = httpx.Request(
            "GET", "https://api.payments.example/", extensions={"timeout": {**FIVE}}
        )
        transport.handle_request(request)
    first, second = inner.timeouts
    assert first == second == dict.fromkeys(FIVE, 2.0)
    assert first is not second
    first["read"] = 99.0  # an inner transport changing its dict changes no other request's
    with deadline_scope(0.5):
        transport.handle_request(
            httpx.Request("GET", "https://api.payments.example/", extensions={"timeout": {**FIVE}})
        )
    assert set(inner.timeouts[-1].values()) != {2.0}
    assert all(v is not None and v <= 0.5 for v in inner.timeouts[-1].values())
    transport.handle_request(
        httpx.Request("GET", "https://api.payments.example/", extensions={"timeout": {**FIVE}})
    )
    assert inner.timeouts[-1] == dict.fromkeys(FIVE, 2.0)
    odd = {"connect": 5.0, "read": 5.0, "write": 5.0, "total": 5.0}  # not httpx's four keys
    transport.handle_request(
        httpx.Request("GET", "https://api.payments.example/", extensions={"timeout": odd})
    )
    assert inner.timeouts[-1] == dict.fromkeys(odd, 2.0)


FIVE: dict[str, float | None] = dict.fromkeys(("connect", "read", "write", "pool"), 5.0)


def test_timeouts_are_cut_when_the_extensions_are_not_a_dict() -> None:
    """A request whose ``extensions`` someone replaced with another mapping is cut the same
    way, and equal timeouts a second time are cut the same way again (the remembered cut)."""
    from collections import UserDict

    deps = payments()
    inner = Recorder()
    transport = Transport(inner, dependencies=deps)
    for _ in range(2):
        request = httpx.Request("GET", "https://api.payments.example/")
        request.extensions = UserDict({"timeout": {**FIVE, "pool": 1.0}})  # type: ignore[assignment]
        transport.handle_request(request)
        assert inner.timeouts[-1] == {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 1.0}
    assert inner.timeouts[0] is not inner.timeouts[1]


def test_hosts_are_matched_as_parsed_ascii_and_lowercase() -> None:
    """Hosts are matched (and cached) as httpx parsed them: lowercase, an IDNA name in the
    ASCII form the settings take, so the Unicode spelling of the URL finds it too; a host of
    no dependency stays out of it after the others are cached."""
    deps = seawall.Dependencies(
        {"dependencies": {
            "intl": {"hosts": ["xn--bcher-kva.example"], "timeout": 1.0},
            "payments": {"hosts": ["api.payments.example"], "timeout": 2.0},
        }}
    )  # fmt: skip
    inner = Recorder()
    transport = Transport(inner, dependencies=deps)
    for url, read in (
        ("https://xn--bcher-kva.example/", 1.0),
        ("https://bücher.example/", 1.0),
        ("https://API.Payments.example/", 2.0),
        ("https://api.payments.example/", 2.0),
        ("https://other.example/", 5.0),
        ("https://xn--bcher-kva.example/", 1.0),
    ):
        transport.handle_request(httpx.Request("GET", url, extensions={"timeout": {**FIVE}}))
        assert inner.timeouts[-1]["read"] == read, url


def test_a_request_listener_subscribed_later_hears_the_next_request() -> None:
    """Who listens to HTTP attempts is read once per call, again after any subscription."""
    from seawall.observability.events import DependencyRequest

    transport = Transport(Recorder(), dependencies=payments())
    transport.handle_request(httpx.Request("GET", "https://api.payments.example/"))
    heard: list[DependencyRequest] = []
    stop = subscribe(DependencyRequest, heard.append)
    try:
        transport.handle_request(httpx.Request("GET", "https://api.payments.example/"))
    finally:
        stop()
    transport.handle_request(httpx.Request("GET", "https://api.payments.example/"))
    assert [(e.dependency, e.method, e.status) for e in heard] == [("payments", "GET", 200)]


def test_the_decorator_returns_what_the_function_returns_even_an_exception() -> None:
    """The wrapper raises only a refusal: a returned exception object is a value, and the
    wrapper keeps the function's name and docstring."""

    def make(x: int) -> Exception:
        """Build one."""
        return seawall.CircuitOpenError("mine")

    seawall.Dependencies({"dependencies": {"maker": {}}})
    guarded = seawall.dependency("maker")(make)
    made = guarded(1)
    assert isinstance(made, seawall.CircuitOpenError)
    assert made.route == "mine"
    assert (guarded.__name__, guarded.__doc__) == ("make", "Build one.")


def test_rejections_raised_in_many_threads_are_each_their_own() -> None:
    """Eight threads rejected at once: each gets a fresh error with its own short traceback."""
    import threading

    down()
    guarded = seawall.dependency("down")(work)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        for _ in range(200):
            try:
                guarded(1)
            except seawall.CircuitOpenError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1600
    assert len({id(e) for e in errors}) == 1600
    for exc in errors:
        depth, tb = 0, exc.__traceback__
        while tb is not None:
            depth, tb = depth + 1, tb.tb_next
        assert depth <= 2
        assert exc.__context__ is None


# -- the breaker and the bulkhead settled in one step --------------------------------------


class Statuses(httpx.BaseTransport):
    """Answers with the next status of ``statuses``."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.statuses.pop(0))


def guarded_both(**breaker: Any) -> seawall.Dependencies:
    """A dependency with a breaker and a bulkhead, no retries."""
    return seawall.Dependencies(
        {"dependencies": {"both": {
            "hosts": ["both.example"], "max_concurrency": 2,
            "breaker": {"minimum_calls": 4, "failure_rate": 0.5, **breaker},
        }}},
        clock=FakeClock(100.0),
    )  # fmt: skip


def test_settled_outcomes_count_and_free_the_slot() -> None:
    """Each call frees its bulkhead slot (more calls than slots all run); successes, errors
    and statuses count as before: 429 is ignored, 5xx and errors are failures."""
    deps = guarded_both()
    both = deps["both"]
    bulkhead, breaker = both.engine.bulkhead, both.breaker
    assert bulkhead is not None
    assert breaker is not None
    for i in range(5):
        assert both.call(work, i) == i
    transport = Transport(Statuses(429, 429, 429, 200, 503), dependencies=deps)
    for _ in range(5):
        transport.handle_request(httpx.Request("POST", "https://both.example/"))
    assert bulkhead.snapshot().in_use == 0
    snap = breaker.snapshot()
    assert (snap.calls, snap.failures, snap.state.value) == (7, 1, "closed")  # 429s not counted
    for _ in range(4):
        with pytest.raises(ConnectionError):
            both.call(fail)
    assert bulkhead.snapshot().in_use == 0
    assert breaker.snapshot().state.value == "closed"  # 5 failures of 11 calls: under 0.5
    with pytest.raises(ConnectionError):
        both.call(fail)
    assert breaker.snapshot().state.value == "open"  # 6 of 12: the rate is reached
    with pytest.raises(seawall.CircuitOpenError):
        both.call(work, 1)
    assert bulkhead.snapshot().in_use == 0  # a refused call never held a slot


def fail() -> None:
    raise ConnectionError("down")


@pytest.mark.parametrize(("open_for", "hint"), [(7.0, 7), (7.25, 8), (0.2, 1)])
def test_retry_after_is_whole_seconds_rounded_up(open_for: float, hint: int) -> None:
    """The hint is the open time rounded up to whole seconds, exact ones kept, at least 1."""
    down({"breaker": {"open_for": open_for, "max_open_for": 60.0}})
    assert rejected(seawall.dependency("down")(work)).retry_after == hint


# -- one clock reading per attempt, shared by the retry budget and the breaker's window --------


class CountingClock(FakeClock):
    """A fake clock that counts its readings."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return super().__call__()


def budgeted(clock: CountingClock) -> seawall.Dependencies:
    """A time-window breaker, a bulkhead and retries with a budget (ratio 0.5, no floor)."""
    return seawall.Dependencies(
        {"dependencies": {"both": {
            "hosts": ["both.example"], "max_concurrency": 2,
            "breaker": {"window_type": "time", "minimum_calls": 100},
            "retry": {"attempts": 3, "budget": {"ratio": 0.5, "min_per_second": 0}},
        }}},
        clock=clock, activate=False,
    )  # fmt: skip


def test_an_attempt_reads_the_clock_once_for_the_budget_and_the_breaker_window() -> None:
    """Nobody listening: a request and a decorated call each read the clock once, and that
    reading both funds the budget and lands the outcome in the window's current second."""
    clock = CountingClock(100.0)
    deps = budgeted(clock)
    both = deps["both"]
    assert both.budget is not None
    assert both.breaker is not None
    transport = Transport(Statuses(200, 200), dependencies=deps)
    clock.advance(1.5)  # into a new second: both the budget and the window must move on
    before = clock.reads
    transport.handle_request(httpx.Request("GET", "https://both.example/"))
    assert clock.reads - before == 1
    before = clock.reads
    assert both.call(work, 1) == 1
    assert clock.reads - before == 1
    assert both.budget.available == 1.0  # two calls at ratio 0.5
    assert both.breaker.snapshot().calls == 2
    clock.advance(40.0)  # past the 30 s window: both outcomes age out
    assert both.breaker.snapshot().calls == 0


def test_a_refused_request_does_not_fund_the_budget() -> None:
    """A call pays into the budget when its first attempt is let through, not when refused."""
    clock = CountingClock(100.0)
    deps = budgeted(clock)
    both = deps["both"]
    assert both.budget is not None
    assert both.breaker is not None
    both.breaker.force_open()
    transport = Transport(Statuses(200), dependencies=deps)
    with pytest.raises(seawall.CircuitOpenError):
        transport.handle_request(httpx.Request("GET", "https://both.example/"))
    assert both.budget.available == 0.0
