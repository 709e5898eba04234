"""Shared breaker state on a real redis-server: pipelines in one process stand for workers.

Each pipeline has its own :class:`RedisState` (own id, threads and connections), exactly as a
worker process would; the multi-process goals are in ``tests/e2e/test_state_e2e.py``.
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from seawall.asgi.middleware import ASGIMiddleware
from seawall.observability.alerts import Alert
from seawall.observability.events import StateRestored, StateUnavailable
from seawall.resilience.breaker import CircuitBreaker, State
from seawall.server.pipeline import Pipeline
from seawall.state.alert_memory import RedisAlertMemory
from seawall.state.shared import RedisState
from seawall.testing import capture_alerts
from tests.services import Service, redis_server

ROUTE = "GET /items/{id}"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with redis_server(tmp_path) as started:
        yield started


def settings(url: str, **breaker: Any) -> dict[str, Any]:
    rules = {"minimum_calls": 4, "failure_rate": 0.5, "open_for": 0.5, "jitter": 0.0}
    return {
        "state": {"backend": "redis", "url": url, "prefix": "t:", "timeout": 0.5},
        "routes": {ROUTE: {"breaker": {**rules, **breaker}}},
    }


@pytest.fixture
def workers(service: Service) -> Iterator[Callable[..., Pipeline]]:
    """Start ``n`` connected pipelines (workers) on the test's Redis; all closed afterwards."""
    started: list[Pipeline] = []

    def start(**breaker: Any) -> Pipeline:
        pipeline = Pipeline(settings(f"redis://{service.host}:{service.port}/0", **breaker))
        started.append(pipeline)
        state = shared(pipeline)
        assert wait_for(lambda: state.available), "the worker did not connect"
        return pipeline

    yield start
    for pipeline in started:
        pipeline.close()


def shared(pipeline: Pipeline) -> RedisState:
    state = pipeline.state
    assert isinstance(state, RedisState)
    return state


def breaker(pipeline: Pipeline) -> CircuitBreaker:
    return pipeline.breakers.named(ROUTE)[0].breaker


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Background threads catch up on their own: poll, bounded."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def is_available(pipeline: Pipeline) -> bool:
    return shared(pipeline).available


def has_state(pipeline: Pipeline, state: State) -> bool:
    return breaker(pipeline).state is state


def trip(b: CircuitBreaker) -> None:
    for _ in range(4):
        permit = b.try_acquire()
        assert permit is not None
        permit.failure()
    assert b.state is State.OPEN


def test_a_trip_in_one_worker_makes_the_others_reject_quickly(workers: Any) -> None:
    """Worker A trips; B and C reject well within the 100 ms goal (bound generous for load)."""
    a, b, c = workers(), workers(), workers()
    started = time.monotonic()
    trip(breaker(a))
    assert wait_for(lambda: all(breaker(p).try_acquire() is None for p in (b, c)), 1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"took {elapsed * 1000:.0f} ms"
    assert breaker(b).snapshot().seconds_to_half_open is not None


def test_half_open_probes_are_limited_across_workers(workers: Any) -> None:
    """After the shared open time, exactly half_open_calls probes run over all workers while
    24 threads keep asking; their success closes every worker."""
    pipelines = [workers(half_open_calls=2) for _ in range(3)]
    trip(breaker(pipelines[0]))
    assert wait_for(lambda: all(breaker(p).try_acquire() is None for p in pipelines[1:]), 1.0)
    probes: list[Any] = []
    lock = threading.Lock()
    stop = time.monotonic() + 5.0

    def closed() -> bool:
        return all(breaker(p).state is State.CLOSED for p in pipelines)

    def ask(p: Pipeline) -> None:
        while time.monotonic() < stop and not closed():
            permit = breaker(p).try_acquire()
            if permit is not None and permit.is_probe:
                with lock:
                    probes.append(permit)
                time.sleep(0.05)  # the handler's work
                permit.success()
            time.sleep(0.001)

    threads = [threading.Thread(target=ask, args=(p,)) for p in pipelines for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert closed()
    assert len(probes) == 2, probes


def test_a_failed_probe_reopens_every_worker(workers: Any) -> None:
    """The lease winner's failing probe is a new trip: the others hold open again."""
    a, b = workers(half_open_calls=1), workers(half_open_calls=1)
    trip(breaker(a))
    assert wait_for(lambda: breaker(b).try_acquire() is None, 1.0)
    probe: list[Any] = []

    def admitted() -> bool:
        probe.extend(x for p in (a, b) if (x := breaker(p).try_acquire()) is not None)
        return bool(probe)

    assert wait_for(admitted, 3.0)
    assert len(probe) == 1
    probe[0].failure()
    assert wait_for(lambda: all(breaker(p).try_acquire() is None for p in (a, b)), 1.0)


def test_overrides_reach_every_worker_and_survive_restarts(workers: Any) -> None:
    """force_open from one worker holds in all, and in a worker started afterwards; reset
    clears it for all, and a worker started afterwards is closed."""
    a, b = workers(), workers()
    a.state.command(ROUTE, "force_open")
    assert wait_for(lambda: breaker(b).state is State.FORCED_OPEN, 1.0)
    later = workers()
    assert wait_for(lambda: breaker(later).state is State.FORCED_OPEN, 1.0)
    b.state.command(ROUTE, "reset")
    assert wait_for(lambda: all(breaker(p).state is State.CLOSED for p in (a, b, later)), 1.0)
    fresh = workers()
    assert breaker(fresh).state is State.CLOSED


def test_disable_and_metrics_only_are_shared_and_close_clears_them(workers: Any) -> None:
    """Every lasting action reaches the others; close ends it everywhere."""
    a, b = workers(), workers()
    for action, state in (("disable", State.DISABLED), ("metrics_only", State.METRICS_ONLY)):
        a.state.command(ROUTE, action)
        assert wait_for(functools.partial(has_state, b, state), 1.0)
    a.state.command(ROUTE, "close")
    assert wait_for(lambda: breaker(b).state is State.CLOSED, 1.0)
    assert breaker(workers()).state is State.CLOSED


def test_the_closed_path_sends_no_redis_command(service: Service, workers: Any) -> None:
    """Admitted calls for 1.5 s add no command to Redis but the background pings (about one a
    second per worker): INFO commandstats before and after."""
    pipeline = workers()
    b = breaker(pipeline)
    client = redis.Redis(host=service.host, port=service.port)

    def counts() -> dict[str, int]:
        stats: dict[str, Any] = client.info("commandstats")
        return {k: int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"}

    before, started, calls = counts(), time.monotonic(), 0
    while time.monotonic() - started < 1.5 or calls < 2000:
        permit = b.try_acquire()
        assert permit is not None
        permit.success()
        calls += 1
    after, elapsed = counts(), time.monotonic() - started
    grown = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    pings = grown.pop("cmdstat_ping", 0)
    assert grown == {}, f"{calls} calls sent {grown}"
    assert pings <= elapsed + 1, f"{pings} pings in {elapsed:.1f} s"
    client.close()


def test_redis_away_and_back(tmp_path: Path) -> None:
    """Redis killed: one StateUnavailable per worker (and seawall_state_outages_total counts
    it), local decisions go on; restarted on its
    port: StateRestored, and a trip is shared again within 2 s."""
    with redis_server(tmp_path) as first:
        port = first.port
        url = f"redis://127.0.0.1:{port}/0"
        a = Pipeline({**settings(url, open_for=5), "metrics": {"enabled": True}})
        b = Pipeline(settings(url, open_for=5))
        try:
            seen: list[object] = []
            for p in (a, b):
                p.events.subscribe(StateUnavailable, seen.append)
                p.events.subscribe(StateRestored, seen.append)
                assert wait_for(functools.partial(is_available, p))
            a.state.command(ROUTE, "force_open")
            assert wait_for(lambda: breaker(b).state is State.FORCED_OPEN, 1.0)
            a.state.command(ROUTE, "reset")
            assert wait_for(lambda: breaker(b).state is State.CLOSED, 1.0)
            first.server.process.kill()
            first.server.process.wait(timeout=5)
            assert wait_for(lambda: sum(isinstance(e, StateUnavailable) for e in seen) == 2)
            started = time.monotonic()
            trip(breaker(a))  # decided alone: b does not hear of it
            assert time.monotonic() - started < 0.5
            assert breaker(b).try_acquire() is not None
            time.sleep(0.6)  # a few reconnect attempts while Redis is away: still one event each
            assert sum(isinstance(e, StateUnavailable) for e in seen) == 2
            assert a.metrics is not None
            outages = {"backend": "redis"}
            assert a.metrics.registry.get_sample_value("seawall_state_outages_total", outages) == 1
            (tmp_path / "again").mkdir()
            with redis_server(tmp_path / "again", port):
                restarted = time.monotonic()
                assert wait_for(lambda: all(shared(p).available for p in (a, b)), 2.0)

                # each worker publishes StateRestored just after it marks itself available
                def restored() -> int:
                    return sum(isinstance(e, StateRestored) for e in seen)

                assert wait_for(lambda: restored() == 2, 1.0)
                assert restored() == 2
                # a's trip, made alone, is published on resync; b holds it
                assert wait_for(lambda: breaker(b).try_acquire() is None, 2.0)
                assert time.monotonic() - restarted < 2.5
        finally:
            a.state.close()
            b.state.close()


def test_an_override_survives_a_redis_restart_that_lost_its_data(tmp_path: Path) -> None:
    """Redis restarts empty: the worker holding force_open writes it back, so a worker
    started afterwards is forced open too."""
    with redis_server(tmp_path) as first:
        port = first.port
        url = f"redis://127.0.0.1:{port}/0"
        a = Pipeline(settings(url))
        try:
            assert wait_for(lambda: shared(a).available)
            a.state.command(ROUTE, "force_open")
            client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
            assert wait_for(lambda: client.hget("t:overrides", ROUTE) == "force_open", 1.0)
            client.close()
            first.server.process.kill()
            first.server.process.wait(timeout=5)
            assert wait_for(lambda: not shared(a).available)
            (tmp_path / "again").mkdir()
            with redis_server(tmp_path / "again", port):
                assert wait_for(lambda: shared(a).available, 3.0)
                later = Pipeline(settings(url))
                try:
                    assert wait_for(lambda: breaker(later).state is State.FORCED_OPEN, 2.0)
                finally:
                    later.state.close()
        finally:
            a.state.close()


def alerting(url: str, **extra: Any) -> dict[str, Any]:
    """Worker settings that alert to the log sink."""
    return {**settings(url), "alerts": {"sinks": [{"type": "log"}]}, **extra}


def told(pipelines: list[Pipeline]) -> int:
    """Notifications delivered by ``pipelines`` together."""
    return sum(p.alerts.outbox.delivered for p in pipelines)


def settled(pipelines: list[Pipeline], admitted: int) -> Callable[[], bool]:
    """True once ``admitted`` alerts were each delivered or lost to another worker's claim."""
    return lambda: told(pipelines) + sum(p.alerts.shared_lost for p in pipelines) == admitted


def test_a_trip_shared_by_two_workers_sends_one_notification(service: Service) -> None:
    """A trips, B opens from the shared trip: both admit ``breaker_open``, one notifies."""
    url = f"redis://{service.host}:{service.port}/0"
    a, b = Pipeline(alerting(url)), Pipeline(alerting(url))
    try:
        assert wait_for(lambda: is_available(a) and is_available(b))
        assert isinstance(a.alerts.shared, RedisAlertMemory)
        trip(breaker(a))
        assert wait_for(lambda: b.alerts.notified == 1)
        assert wait_for(settled([a, b], 2))
        assert told([a, b]) == 1
        assert a.alerts.shared_lost + b.alerts.shared_lost == 1
        a.state.command(ROUTE, "close")  # both close: the worker that told it resolves it
        assert wait_for(lambda: has_state(b, State.CLOSED))
        assert wait_for(lambda: told([a, b]) == 2)
        assert sum(len(p.alerts.firing) for p in (a, b)) == 0
    finally:
        a.close()
        b.close()


def test_many_workers_and_threads_notify_one_alert_once(service: Service) -> None:
    """4 workers x 8 threads raise the same alert at once: exactly one notification."""
    url = f"redis://{service.host}:{service.port}/0"
    pipelines = [Pipeline(alerting(url)) for _ in range(4)]
    try:
        assert wait_for(lambda: all(is_available(p) for p in pipelines))
        alert = Alert("custom", "thing:1", "warning", "disk almost full")
        barrier = threading.Barrier(32)

        def raise_it(p: Pipeline) -> None:
            barrier.wait()
            p.alerts.notify(alert)

        threads = [
            threading.Thread(target=raise_it, args=(p,)) for p in pipelines for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        admitted = sum(p.alerts.notified for p in pipelines)
        assert admitted == 4  # each worker's own cooldown let one through
        assert wait_for(settled(pipelines, admitted))
        assert told(pipelines) == 1
    finally:
        for p in pipelines:
            p.close()


async def test_a_failing_request_never_waits_on_redis_for_its_alert(service: Service) -> None:
    """Redis hung (SIGSTOP) with a 2 s state timeout: a failing request still answers at once
    (its new-error alert is claimed on the alert worker); the alert goes out after SIGCONT."""
    url = f"redis://{service.host}:{service.port}/0"
    data = alerting(url)
    data["state"] = {**data["state"], "timeout": 2.0}

    async def boom(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("the handler broke")

    pipeline = Pipeline(data)
    app = ASGIMiddleware(boom, pipeline=pipeline)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    process = service.server.process
    try:
        assert wait_for(lambda: is_available(pipeline))
        with capture_alerts() as captured:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                process.send_signal(signal.SIGSTOP)
                try:
                    started = time.monotonic()
                    answer = await client.get("/items/1")
                    took = time.monotonic() - started
                finally:
                    process.send_signal(signal.SIGCONT)
            assert answer.status_code == 500
            assert took < 1.0, took  # a claim on the request path would wait 2 s
            assert pipeline.alerts.notified == 1
            assert wait_for(lambda: told([pipeline]) == 1, 10.0)
            assert [a.rule for a in captured.alerts] == ["new_error"]
    finally:
        pipeline.close()


def test_alerts_decide_locally_while_redis_is_away(tmp_path: Path) -> None:
    """Redis killed: claims are won at once (each worker alone) and the worker's own cooldown
    still holds a repeat back."""
    with redis_server(tmp_path) as first:
        pipeline = Pipeline(alerting(f"redis://127.0.0.1:{first.port}/0"))
        try:
            assert wait_for(functools.partial(is_available, pipeline))
            first.server.process.kill()
            first.server.process.wait(timeout=5)
            alert = Alert("custom", "thing:1", "warning", "disk almost full")
            assert pipeline.alerts.notify(alert)
            assert not pipeline.alerts.notify(alert)  # this worker's cooldown
            assert wait_for(lambda: told([pipeline]) == 1, 10.0)
            assert wait_for(lambda: not shared(pipeline).available)
        finally:
            pipeline.close()


def test_one_slow_ping_does_not_count_as_an_outage(service: Service, workers: Any) -> None:
    """Redis stopped just long enough for one ping to time out: one strike, no
    StateUnavailable, shared all along; the next ping clears the strike."""
    a = workers()
    seen: list[object] = []
    a.events.subscribe(StateUnavailable, seen.append)
    process = service.server.process
    process.send_signal(signal.SIGSTOP)
    try:
        assert wait_for(lambda: shared(a).strikes == 1, 5.0)
    finally:
        process.send_signal(signal.SIGCONT)
    assert wait_for(lambda: shared(a).strikes == 0, 5.0)
    assert shared(a).available
    assert seen == []


def test_a_hung_redis_is_noticed_and_nothing_waits_on_it(service: Service, workers: Any) -> None:
    """Redis stopped (SIGSTOP): the ping times out, one StateUnavailable; breakers keep
    deciding at once. Continued (SIGCONT): StateRestored, shared again."""
    a, b = workers(open_for=10), workers(open_for=10)
    seen: list[object] = []
    a.events.subscribe(StateUnavailable, seen.append)
    a.events.subscribe(StateRestored, seen.append)
    process = service.server.process
    process.send_signal(signal.SIGSTOP)
    try:
        assert wait_for(lambda: not shared(a).available, 10.0)  # two pings must time out
        started = time.monotonic()
        trip(breaker(a))
        assert time.monotonic() - started < 0.2
        assert [type(e) for e in seen] == [StateUnavailable]
    finally:
        process.send_signal(signal.SIGCONT)
    assert wait_for(lambda: shared(a).available and shared(b).available, 5.0)
    # The flag turns before the event is published, from the same thread: wait for both.
    assert wait_for(lambda: len(seen) == 2, 5.0)
    assert [type(e) for e in seen] == [StateUnavailable, StateRestored]
    assert wait_for(lambda: breaker(b).try_acquire() is None, 2.0)  # a's trip, resynced


def test_close_stops_the_shared_state_threads(service: Service) -> None:
    """``Pipeline.close`` stops both state threads and the alert outbox registration."""
    from seawall.observability.alerts.worker import worker

    url = f"redis://{service.host}:{service.port}/0"
    pipeline = Pipeline(alerting(url))
    state = shared(pipeline)
    assert wait_for(lambda: state.available)
    assert all(t.is_alive() for t in state._threads)
    pipeline.close()
    assert not any(t.is_alive() for t in state._threads)
    assert pipeline.alerts.outbox not in worker()._outboxes


def test_a_claim_on_a_dead_connection_is_won_and_counts_a_strike(tmp_path: Path) -> None:
    """Redis killed before the state noticed: a claim fails fast, is won (the worker decides
    alone) and counts against Redis; a release fails quietly."""
    with redis_server(tmp_path) as first:
        pipeline = Pipeline(alerting(f"redis://127.0.0.1:{first.port}/0"))
        try:
            state = shared(pipeline)
            assert wait_for(lambda: state.available)
            memory = pipeline.alerts.shared
            assert memory is not None
            first.server.process.kill()
            first.server.process.wait(timeout=5)
            assert memory.claim("k", 60)
            assert state.strikes >= 1 or not state.available
            memory.release("k")
            assert wait_for(lambda: not state.available)
            memory.release("k")  # known to be away: nothing to do
        finally:
            pipeline.close()
