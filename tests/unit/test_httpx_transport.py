"""The httpx transports: a dependency's policy by host, the correlation header only where
allowed, timeouts shrunk to the deadline, 5xx failures, 429 rate limits, safe retries only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import seawall
from seawall.clock import FakeClock
from seawall.context.correlation import CORRELATION_ID
from seawall.context.deadline import deadline_scope
from seawall.integrations.httpx import AsyncTransport, Transport
from seawall.observability.events import DependencyCalled, DependencyRequest, DependencyRetry

PAYMENTS = {
    "hosts": ["api.payments.example"],
    "timeout": 2.0,
    "breaker": {"minimum_calls": 4, "failure_rate": 0.5},
    "retry": {"attempts": 3, "backoff": 0.1, "max_backoff": 2.0},
}


class Backend:
    """An in-memory server answering from a list of statuses (then 200), recording requests."""

    def __init__(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses)
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, headers=self.headers if status != 200 else {}, text="body")


def client_for(
    backend: Any, settings: dict[str, Any] | None = None, waits: list[float] | None = None
) -> tuple[httpx.Client, seawall.Dependencies]:
    clock = FakeClock(100.0)
    deps = seawall.Dependencies(
        settings or {"dependencies": {"payments": PAYMENTS}}, clock=clock, random=lambda: 0.5
    )
    clock.advance(1.0)  # the budget's floor holds a second's worth
    sleep = waits.append if waits is not None else lambda s: None
    transport = Transport(httpx.MockTransport(backend), sleep=sleep)
    return httpx.Client(transport=transport), deps


def of(events: list[object], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_correlation_id_goes_only_to_allowed_hosts() -> None:
    """Dependency hosts and ``propagate_to`` get the id; other hosts never see it."""
    backend = Backend()
    client, _ = client_for(backend, {
        "correlation": {"propagate_to": ["*.internal.example"]},
        "dependencies": {"payments": PAYMENTS},
    })  # fmt: skip
    token = CORRELATION_ID.set("req-42")
    try:
        client.get("https://api.payments.example/a")
        client.get("https://users.internal.example/b")
        client.get("https://internal.example/c")  # the suffix itself is not a subdomain
        client.get("https://evil.example/d")
    finally:
        CORRELATION_ID.reset(token)
    seen = [r.headers.get("x-request-id") for r in backend.requests]
    assert seen == ["req-42", "req-42", None, None]


def test_a_correlation_header_already_set_is_never_overwritten() -> None:
    backend = Backend()
    client, _ = client_for(backend)
    token = CORRELATION_ID.set("req-42")
    try:
        client.get("https://api.payments.example/a", headers={"X-Request-ID": "mine"})
    finally:
        CORRELATION_ID.reset(token)
    assert backend.requests[0].headers["x-request-id"] == "mine"


def test_5xx_is_retried_and_503_follows_retry_after(events: list[object]) -> None:
    """A 503 with Retry-After: 1 waits 1 s (not the jittered backoff), then succeeds."""
    waits: list[float] = []
    backend = Backend(503, 500, headers={"Retry-After": "1"})
    client, _ = client_for(backend, waits=waits)
    response = client.get("https://api.payments.example/a")
    assert response.status_code == 200
    assert len(backend.requests) == 3
    assert waits == [1.0, 0.1]  # Retry-After for the 503; 0.2 x 0.5 jitter after the 500
    assert [e.status for e in of(events, DependencyRequest)] == [503, 500, 200]
    assert of(events, DependencyCalled)[-1].outcome == "success"


def test_429_backs_off_and_is_not_a_breaker_failure(events: list[object]) -> None:
    """Rate limits are retried after Retry-After and never open the breaker."""
    waits: list[float] = []
    backend = Backend(*([429] * 12), headers={"Retry-After": "0"})
    client, deps = client_for(backend, waits=waits)
    for _ in range(4):
        client.get("https://api.payments.example/a")
    assert deps["payments"].breaker.state.value == "closed"  # type: ignore[union-attr]
    assert waits[:2] == [0.0, 0.0]


def test_5xx_and_transport_errors_open_the_breaker() -> None:
    """Failures count: then the transport refuses with CircuitOpenError before sending."""
    backend = Backend(*([502] * 20))
    client, _ = client_for(backend, {"dependencies": {"payments": {
        "hosts": ["api.payments.example"], "breaker": {"minimum_calls": 2}}}})  # fmt: skip
    assert client.get("https://api.payments.example/a").status_code == 502
    assert client.get("https://api.payments.example/a").status_code == 502
    with pytest.raises(seawall.CircuitOpenError):
        client.get("https://api.payments.example/a")
    assert len(backend.requests) == 2


def test_transport_errors_are_retried_then_raised(events: list[object]) -> None:
    """A connect error is transient: retried up to the attempts, then raised as httpx's."""
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    client, _ = client_for(refuse)
    with pytest.raises(httpx.ConnectError):
        client.get("https://api.payments.example/a")
    assert calls == 3
    assert [e.error for e in of(events, DependencyRequest)] == ["ConnectError"] * 3
    assert of(events, DependencyCalled)[-1].outcome == "failure"


def test_only_idempotent_requests_are_retried() -> None:
    """POST is sent once; POST with an Idempotency-Key, PUT and DELETE are retried."""
    backend = Backend(503, 503, 503, 503, 503)
    no_breaker = {k: v for k, v in PAYMENTS.items() if k != "breaker"}
    client, _ = client_for(backend, {"dependencies": {"payments": no_breaker}})
    assert client.post("https://api.payments.example/charge").status_code == 503
    assert len(backend.requests) == 1
    keyed = client.post("https://api.payments.example/c", headers={"Idempotency-Key": "k1"})
    assert keyed.status_code == 503
    assert len(backend.requests) == 4  # 1 + 3 attempts
    assert client.delete("https://api.payments.example/x").status_code == 200


def test_a_refused_retry_returns_the_last_response_readable(events: list[object]) -> None:
    """With the budget spent the last 5xx is the answer, body intact."""
    settings = {
        "dependencies": {
            "payments": {
                **PAYMENTS,
                "retry": {"attempts": 3, "budget": {"ratio": 0, "min_per_second": 0}},
            }
        }
    }
    backend = Backend(503)
    client, _ = client_for(backend, settings)
    response = client.get("https://api.payments.example/a")
    assert (response.status_code, response.text) == (503, "body")
    assert [e.outcome for e in of(events, DependencyRetry)] == ["budget_exhausted"]


def test_timeouts_are_shrunk_to_the_dependency_timeout_and_deadline() -> None:
    """Each of connect/read/write/pool is capped at min(timeout, remaining())."""
    backend = Backend()
    client, _ = client_for(backend)
    client.get("https://api.payments.example/a", timeout=10.0)
    assert backend.requests[-1].extensions["timeout"]["read"] == pytest.approx(2.0, abs=0.05)
    with deadline_scope(0.3):
        client.get("https://api.payments.example/a", timeout=10.0)
        client.get("https://other.example/a", timeout=10.0)  # no dependency: the deadline still
    for request in backend.requests[1:]:
        assert all(0 < v <= 0.3 for v in request.extensions["timeout"].values())


def test_a_passed_deadline_refuses_before_sending() -> None:
    """DeadlineExceededError and nothing on the wire."""
    backend = Backend()
    client, _ = client_for(backend)
    clock = FakeClock(0.0)
    with deadline_scope(1.0, clock=clock):
        clock.advance(1.0)
        with pytest.raises(seawall.DeadlineExceededError):
            client.get("https://api.payments.example/a")
    assert backend.requests == []


def test_hosts_of_no_dependency_pass_through_untouched() -> None:
    """Without a matching dependency: no retries, no policy."""
    backend = Backend(503, 503)
    client, _ = client_for(backend)
    assert client.get("https://elsewhere.example/").status_code == 503
    assert len(backend.requests) == 1


def test_without_any_settings_the_transport_passes_through() -> None:
    """Made at import before any install: a plain transport until settings exist."""
    from seawall.client import dependencies

    dependencies._activate(None)
    backend = Backend()
    with httpx.Client(transport=Transport(httpx.MockTransport(backend))) as client:
        assert client.get("https://api.payments.example/").status_code == 200


def test_the_transport_follows_a_newer_process_wide_registry() -> None:
    """Hosts are looked up once per host string, and again when the active settings change."""
    backend = Backend(503, 503)
    client, _ = client_for(backend)
    token = CORRELATION_ID.set("req-7")
    try:
        assert client.get("https://api.payments.example/").status_code == 200  # retried twice
        seawall.Dependencies({"dependencies": {"other": {"hosts": ["other.example"]}}})
        backend.statuses = [503, 503]
        assert client.get("https://api.payments.example/").status_code == 503  # no policy now
    finally:
        CORRELATION_ID.reset(token)
    assert [r.headers.get("x-request-id") for r in backend.requests] == ["req-7"] * 3 + [None]


# -- async ------------------------------------------------------------------------------------


def async_client(backend: Any, settings: dict[str, Any] | None = None) -> httpx.AsyncClient:
    seawall.Dependencies(settings or {"dependencies": {"payments": PAYMENTS}})
    return httpx.AsyncClient(transport=AsyncTransport(httpx.MockTransport(backend)))


async def test_async_transport_retries_5xx() -> None:
    backend = Backend(503)
    settings = {"dependencies": {"payments": {**PAYMENTS, "retry": {
        "attempts": 2, "backoff": 0.001, "budget": {"ratio": 1.0}}}}}  # fmt: skip
    async with async_client(backend, settings) as client:
        response = await client.get("https://api.payments.example/a")
    assert response.status_code == 200
    assert len(backend.requests) == 2


async def test_async_transport_cancels_at_the_deadline() -> None:
    """A 2 s answer with 0.2 s left is cut at about 0.2 s: httpx.TimeoutException."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2.0)
        return httpx.Response(200)

    loop = asyncio.get_running_loop()
    async with async_client(slow) as client:
        with deadline_scope(0.2):
            t0 = loop.time()
            with pytest.raises(httpx.TimeoutException):
                await client.get("https://api.payments.example/slow")
    assert 0.15 < loop.time() - t0 < 1.0


async def test_async_transport_refuses_when_open() -> None:
    backend = Backend(*([500] * 10))
    settings = {"dependencies": {"payments": {"hosts": ["api.payments.example"],
                                              "breaker": {"minimum_calls": 1}}}}  # fmt: skip
    async with async_client(backend, settings) as client:
        assert (await client.get("https://api.payments.example/a")).status_code == 500
        with pytest.raises(seawall.CircuitOpenError):
            await client.get("https://api.payments.example/a")


def test_a_retry_refused_by_the_opened_breaker_ends_with_the_last_error() -> None:
    """The breaker opens on the first failure: the retry is refused, the error raised."""
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    settings = {"dependencies": {"payments": {**PAYMENTS, "breaker": {"minimum_calls": 1}}}}
    client, _ = client_for(refuse, settings)
    with pytest.raises(httpx.ConnectError):
        client.get("https://api.payments.example/a")
    assert calls == 1


def test_a_retry_refused_by_the_opened_breaker_returns_the_last_answer() -> None:
    backend = Backend(503, 503)
    settings = {"dependencies": {"payments": {**PAYMENTS, "breaker": {"minimum_calls": 1}}}}
    client, _ = client_for(backend, settings)
    response = client.get("https://api.payments.example/a")
    assert (response.status_code, response.text, len(backend.requests)) == (503, "body", 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), (" 0 ", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0), ("soon", None),
     ("", None), (None, None), ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0)],
)  # fmt: skip
def test_retry_after_takes_seconds_or_an_http_date(
    value: str | None, expected: float | None
) -> None:
    """Delay-seconds or an HTTP date (seconds from now, never negative); junk is ignored."""
    from seawall.client.classify import parse_retry_after

    now = 1445412470.0  # 07:27:50 GMT on that day
    assert parse_retry_after(value, now=lambda: now) == expected


async def test_async_transport_retries_transport_errors_then_raises() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    settings = {"dependencies": {"payments": {**PAYMENTS, "retry": {
        "attempts": 2, "backoff": 0.001, "budget": {"ratio": 1.0}}}}}  # fmt: skip
    async with async_client(refuse, settings) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://api.payments.example/a")
    assert calls == 2


async def test_async_transport_cancelled_frees_its_slot() -> None:
    """A cancelled request gives its bulkhead slot back."""
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(3600)
        return httpx.Response(200)

    settings = {"dependencies": {"payments": {"hosts": ["api.payments.example"],
                                              "max_concurrency": 1}}}  # fmt: skip
    async with async_client(hang, settings) as client:
        task = asyncio.create_task(client.get("https://api.payments.example/a"))
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    from seawall.client.dependencies import active

    deps = active()
    assert deps is not None
    assert deps["payments"].engine.bulkhead.snapshot().in_use == 0  # type: ignore[union-attr]


async def test_async_transport_passes_other_hosts_through() -> None:
    backend = Backend(503)
    async with async_client(backend) as client:
        assert (await client.get("https://elsewhere.example/")).status_code == 503
    assert len(backend.requests) == 1
