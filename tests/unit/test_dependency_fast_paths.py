"""The fast paths of dependency calls keep their contracts: a rejection nobody listens to is
still a full, fresh ``CircuitOpenError``; listeners and fallbacks added later are heard; the
httpx transport copies timeouts only when one is over and keeps a subclass's override."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import seawall
from seawall.clock import FakeClock
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
