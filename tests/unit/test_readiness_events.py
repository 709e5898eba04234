"""Readiness transitions as events, the ``readiness_failed`` alert they drive, and dependency
breakers in readiness."""

from __future__ import annotations

from typing import Any

import httpx

from seawall.asgi.middleware import ASGIMiddleware
from seawall.observability.events import ReadinessFailed, ReadinessRecovered
from seawall.resilience.breaker import CircuitBreaker
from seawall.server.pipeline import Pipeline
from seawall.testing import capture_alerts, capture_logs

SECRET = "connection refused by db.internal password=hunter2"


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"app"})


class Database:
    """A check that fails (with text an alert must never carry) while ``down``."""

    def __init__(self) -> None:
        self.down = False

    def __call__(self) -> bool:
        if self.down:
            raise ConnectionError(SECRET)
        return True


def pipeline_with(database: Database, **extra: Any) -> Pipeline:
    health = {"checks": {"database": database}, "cache_for": 0, "failure_cache_for": 0}
    return Pipeline({"health": health, **extra})


def client(pipeline: Pipeline) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=ASGIMiddleware(app, pipeline=pipeline))
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def recorder(pipeline: Pipeline) -> list[object]:
    seen: list[object] = []
    pipeline.events.subscribe(ReadinessFailed, seen.append)
    pipeline.events.subscribe(ReadinessRecovered, seen.append)
    return seen


async def test_readiness_failing_and_recovering_publish_one_event_each() -> None:
    """pass -> fail publishes ReadinessFailed with the failing check's name (never its
    exception text); repeated failing probes publish nothing more; pass again: Recovered."""
    database = Database()
    pipeline = pipeline_with(database)
    seen = recorder(pipeline)
    async with client(pipeline) as c:
        assert (await c.get("/health/ready")).status_code == 200
        database.down = True
        assert (await c.get("/health/ready")).status_code == 503
        assert (await c.get("/health")).status_code == 503
        assert seen == [ReadinessFailed("/health/ready", ("database",))]
        database.down = False
        assert (await c.get("/health/ready")).status_code == 200
    assert len(seen) == 2
    recovered = seen[1]
    assert isinstance(recovered, ReadinessRecovered)
    assert recovered.name == "/health/ready"
    assert "hunter2" not in repr(seen)


async def test_readiness_failed_alerts_and_its_recovery_resolves() -> None:
    """The ``readiness_failed`` rule fires on the event (components as a label, no exception
    text) and is resolved by ReadinessRecovered; the log has one line for each."""
    database = Database()
    pipeline = pipeline_with(database)
    assert ("readiness_failed", "ReadinessFailed") not in pipeline.alerts.waiting
    with capture_alerts() as alerts, capture_logs() as logs:
        async with client(pipeline) as c:
            database.down = True
            await c.get("/health/ready")
            await c.get("/health/ready")
            database.down = False
            await c.get("/health/ready")
    fired, resolved = alerts.named("readiness_failed")
    assert (fired.status, fired.severity, fired.key) == (
        "firing",
        "critical",
        "readiness_failed:/health/ready",
    )
    assert fired.labels["components"] == "database"
    assert (resolved.status, resolved.key) == ("resolved", fired.key)
    assert "hunter2" not in repr(alerts.alerts)
    assert [e["event"] for e in logs.named("readiness_failed")] == ["readiness_failed"]
    assert logs.named("readiness_failed")[0]["components"] == ["database"]
    assert len(logs.named("readiness_recovered")) == 1


async def test_draining_publishes_no_readiness_event() -> None:
    """A drain is deliberate: readiness fails, but no alert is raised for it."""
    pipeline = Pipeline({})
    seen = recorder(pipeline)
    async with client(pipeline) as c:
        pipeline.health.drain()
        assert (await c.get("/health/ready")).status_code == 503
        pipeline.health.undrain()
        assert (await c.get("/health/ready")).status_code == 200
    assert seen == []


async def test_dependency_breakers_in_the_registry_are_in_readiness() -> None:
    """A breaker registered with kind ``dependency`` shows in the report; open it warns, and
    when critical it fails readiness and is named in ReadinessFailed."""
    pipeline = Pipeline({"health": {"details": "always"}})
    seen = recorder(pipeline)
    payments = CircuitBreaker("payments")
    search = CircuitBreaker("search")
    pipeline.breakers.add(payments, kind="dependency", critical=True)
    pipeline.breakers.add(search, kind="dependency")
    async with client(pipeline) as c:
        assert (await c.get("/health/ready")).json() == {"status": "pass"}
        search.force_open()
        assert (await c.get("/health/ready")).json() == {"status": "warn"}
        payments.force_open()
        ready = await c.get("/health/ready")
        report = (await c.get("/health")).json()
    assert ready.status_code == 503
    entries = {e["componentId"]: e for e in report["checks"]["breakers"]}
    assert entries["payments"]["componentType"] == "dependency"
    assert (entries["payments"]["status"], entries["search"]["status"]) == ("fail", "warn")
    assert entries["payments"]["observedValue"] == "forced_open"
    assert seen == [ReadinessFailed("/health/ready", ("payments",))]


def test_every_default_rule_finds_its_events() -> None:
    """``alerts.waiting`` is empty for the default rules: readiness, dependency and
    dead-letter events all exist (a rule named for an unknown event is listed, see
    tests/unit/test_alerts.py)."""
    pipeline = Pipeline({})
    assert pipeline.alerts.waiting == []
