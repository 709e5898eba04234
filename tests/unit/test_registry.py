"""The breaker registry: every route breaker of a pipeline, with its kind and critical flag."""

from __future__ import annotations

import threading

import pytest

from seawall.config.schema import BreakerSettings, SettingsError
from seawall.config.settings import Settings
from seawall.resilience.breaker import CircuitBreaker
from seawall.resilience.registry import BreakerRegistry
from seawall.server.pipeline import Pipeline


def test_pipeline_registers_each_route_breaker_with_its_critical_flag() -> None:
    """Configured keys with a breaker are listed; routes without one are not."""
    pipeline = Pipeline(
        {
            "routes": {
                "GET /pay": {"breaker": {"minimum_calls": 2}, "critical": True},
                "GET /list": {"breaker": {"minimum_calls": 2}},
                "GET /slow": {"timeout": 1},
            }
        }
    )
    entries = {entry.name: entry for entry in pipeline.breakers}
    assert set(entries) == {"GET /pay", "GET /list"}
    assert entries["GET /pay"].critical is True
    assert entries["GET /list"].critical is False
    assert {entry.kind for entry in entries.values()} == {"route"}


def test_template_guards_made_later_are_registered_too() -> None:
    """A router template that gets its guard from the defaults at first use is listed then."""
    pipeline = Pipeline({"defaults": {"breaker": {"minimum_calls": 2}}})
    before = len(pipeline.breakers)
    pipeline.guards.for_template("GET", "/items/{id}")
    assert len(pipeline.breakers) == before + 1
    assert [e.name for e in pipeline.breakers.named("GET /items/{id}")] == ["GET /items/{id}"]


def test_adding_the_same_breaker_twice_keeps_one_entry() -> None:
    registry = BreakerRegistry()
    breaker = CircuitBreaker("dep", BreakerSettings())
    first = registry.add(breaker, kind="dependency", critical=True)
    assert registry.add(breaker, kind="dependency") is first
    assert len(registry) == 1


def test_concurrent_adds_lose_no_breaker() -> None:
    """Many threads registering at once: every breaker ends up listed exactly once."""
    registry = BreakerRegistry()
    breakers = [CircuitBreaker(f"b{i}", BreakerSettings()) for i in range(400)]
    threads = [
        threading.Thread(
            target=lambda chunk=breakers[i::8]: [registry.add(b, kind="route") for b in chunk]
        )
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.name for e in registry) == sorted(b.name for b in breakers)


def test_critical_must_be_a_boolean() -> None:
    with pytest.raises(SettingsError, match=r'routes\."GET /x"\.critical: expected true or false'):
        Settings.from_mapping({"routes": {"GET /x": {"critical": "yes"}}})
