"""Alert rules and cooldowns: one notification per incident, again on escalation, redacted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from seawall.clock import FakeClock
from seawall.config.schema import SettingsError
from seawall.config.settings import Settings
from seawall.observability import events
from seawall.observability.alerts import Alert, Alerts, MemoryAlertMemory
from seawall.observability.alerts.rules import EventRule, event_class
from seawall.observability.analytics import ErrorAnalytics
from seawall.observability.events import (
    BreakerStateChanged,
    DeadLetterStored,
    DependencyBreakerChanged,
    DependencyRetry,
    Event,
    EventBus,
    RecoveryExhausted,
    RequestFailed,
)
from seawall.observability.redaction import Redactor
from seawall.resilience.breaker import CircuitBreaker
from seawall.resilience.registry import BreakerRegistry
from seawall.server.pipeline import Pipeline
from seawall.testing import capture_alerts


class Recorder:
    """A sink that keeps what it is given (the test's stand-in for a remote service)."""

    batch_interval = 0.0
    refresh: float | None = None

    def __init__(self, name: str = "recorder") -> None:
        self.name = name
        self.alerts: list[Alert] = []

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        self.alerts.extend(alerts)


def failure(route: str = "POST /checkout") -> RequestFailed:
    pipeline = Pipeline()
    try:
        raise ConnectionError("upstream said token=sk_live_abcdefghijklmnop1234")
    except ConnectionError as exc:
        problem = pipeline.problems.to_problem(exc, correlation_id="c-1", instance="/checkout")
        return RequestFailed(exc, problem, "POST", route)


def build(
    settings: dict[str, object] | None = None,
    *,
    clock: FakeClock,
    memory: MemoryAlertMemory | None = None,
    sinks: int = 1,
    breakers: BreakerRegistry | None = None,
) -> tuple[EventBus, Alerts, list[Recorder]]:
    parsed = Settings.from_mapping({"alerts": settings or {}})
    recorders = [Recorder(f"sink{i}") for i in range(sinks)]
    bus = EventBus()
    redactor = Redactor.from_settings(parsed.redaction)
    stats = ErrorAnalytics(redact=redactor.text, clock=clock, window=300)
    stats.attach(bus)
    alerts = Alerts(
        parsed.alerts,
        redact=redactor.text,
        sinks=recorders,
        clock=clock,
        memory=memory,
        breakers=breakers,
    )
    alerts.attach(bus)
    return bus, alerts, recorders


def test_alert_storm_sends_new_then_spike_and_nothing_more() -> None:
    """10,000 failures of one fingerprint in 60 s: two notifications per sink (new, spike);
    a plain threshold rule (one per min_count failures) would send a thousand."""
    clock = FakeClock(1000.0)
    bus, alerts, recorders = build(clock=clock, sinks=3)
    event = failure()
    threshold_notifications = 0
    for i in range(10_000):
        clock.set(1000.0 + 60.0 * i / 10_000)
        bus.publish(event)
        if (i + 1) % 10 == 0:  # the plain rule: one notification per min_count failures
            threshold_notifications += 1
        if i % 1000 == 0:
            alerts.outbox.pump()
    alerts.outbox.pump()
    for recorder in recorders:
        assert [a.rule for a in recorder.alerts] == ["new_error", "error_spike"]
    assert threshold_notifications == 1000
    assert alerts.notified == 2


def test_after_the_cooldown_a_lasting_spike_is_told_once_more() -> None:
    clock = FakeClock(1000.0)
    bus, alerts, (recorder,) = build({"cooldown": 300}, clock=clock)
    event = failure()
    for _ in range(20):
        bus.publish(event)
    clock.advance(299)
    for _ in range(20):
        bus.publish(event)
    alerts.outbox.pump()
    assert [a.rule for a in recorder.alerts] == ["new_error", "error_spike"]
    clock.advance(2)
    for _ in range(60):  # still far above the baseline
        bus.publish(event)
    alerts.outbox.pump()
    assert [a.rule for a in recorder.alerts] == ["new_error", "error_spike", "error_spike"]


def test_a_known_error_is_not_new_again_after_the_cooldown() -> None:
    clock = FakeClock(1000.0)
    bus, alerts, (recorder,) = build({"rules": {"error_spike": False}}, clock=clock)
    bus.publish(failure())
    clock.advance(3600)  # the memory of seen fingerprints outlives the 300 s cooldown
    bus.publish(failure())
    alerts.outbox.pump()
    assert [a.rule for a in recorder.alerts] == ["new_error"]


def test_spike_needs_min_count_and_factor_times_the_baseline() -> None:
    clock = FakeClock(0.0)
    settings = {"rules": {"new_error": False, "error_spike": {"min_count": 5, "factor": 3.0}}}
    bus, alerts, (_recorder,) = build({**settings, "cooldown": 0}, clock=clock)
    event = failure()
    for _ in range(4):
        bus.publish(event)
    assert alerts.notified == 0  # under min_count
    # a steady 30 per 30 s bucket for an hour: the baseline reaches about 300 per window
    for _ in range(120):
        clock.advance(30)
        for _ in range(30):
            bus.publish(event)
    before = alerts.notified
    clock.advance(300)  # the window empties; the baseline stays near 300 per window
    for _ in range(200):
        bus.publish(event)
    assert alerts.notified == before  # 200 < 3 x ~300: steady traffic is no spike
    for _ in range(900):
        bus.publish(event)
    assert alerts.notified > before  # 1100 >= 3 x baseline: a spike


def test_two_workers_sharing_a_memory_notify_once() -> None:
    """Claims go through the memory: N processes with one shared store send one alert."""
    clock = FakeClock(1000.0)
    memory = MemoryAlertMemory(clock=clock)
    first = build(clock=clock, memory=memory)
    second = build(clock=clock, memory=memory)
    for bus, _, _ in (first, second):
        bus.publish(failure())
        bus.publish(BreakerStateChanged("GET /r", "closed", "open", "failure_rate"))
    assert first[1].notified == 2  # new_error and breaker_open
    assert second[1].notified == 0


def test_breaker_open_fires_and_its_closing_resolves() -> None:
    clock = FakeClock(1000.0)
    registry = BreakerRegistry()
    registry.add(CircuitBreaker("GET /critical"), kind="route", critical=True)
    bus, alerts, (recorder,) = build(clock=clock, breakers=registry)
    bus.publish(BreakerStateChanged("GET /reports", "closed", "open", "failure_rate"))
    bus.publish(BreakerStateChanged("GET /reports", "open", "half_open", "timer"))
    bus.publish(BreakerStateChanged("GET /reports", "half_open", "open", "probe_failed"))
    assert len(alerts.firing) == 1
    bus.publish(BreakerStateChanged("GET /reports", "open", "closed", "recovered"))
    bus.publish(BreakerStateChanged("GET /reports", "open", "closed", "recovered"))
    bus.publish(BreakerStateChanged("GET /critical", "closed", "open", "failure_rate"))
    alerts.outbox.pump()
    told = [(a.rule, a.status, a.severity, a.labels.get("breaker")) for a in recorder.alerts]
    assert told == [
        ("breaker_open", "firing", "warning", "GET /reports"),
        ("breaker_open", "resolved", "warning", "GET /reports"),
        ("breaker_open", "firing", "critical", "GET /critical"),
    ]
    assert recorder.alerts[1].ended_at is not None
    # resolved: the next opening of the same breaker is a new incident
    bus.publish(BreakerStateChanged("GET /reports", "closed", "open", "failure_rate"))
    assert alerts.notified == 4


def test_an_escalation_is_told_within_the_cooldown() -> None:
    clock = FakeClock(1000.0)
    _, alerts, (_recorder,) = build(clock=clock)
    low = Alert("custom", "thing:1", "warning", "low")
    assert alerts.notify(low)
    assert not alerts.notify(low)
    assert alerts.notify(Alert("custom", "thing:1", "critical", "high"))
    assert not alerts.notify(Alert("custom", "thing:1", "warning", "low again"))
    assert not alerts.notify(Alert("custom", "thing:1", "critical", "high again"))


@dataclass(frozen=True, slots=True)
class DiskAlmostFull(Event):
    check: str
    reason: str
    exception: str


@dataclass(frozen=True, slots=True)
class DiskRecovered(Event):
    check: str


@dataclass(frozen=True, slots=True)
class ReadinessFailed(Event):
    """A class outside seawall that happens to share a seawall event's name."""

    check: str


def test_rules_subscribe_by_event_name_once_the_event_exists() -> None:
    """A rule finds event classes defined after seawall (here, by this test); it carries
    scalar fields as labels but never the exception text."""
    clock = FakeClock(1000.0)
    recorder = Recorder("sink0")
    bus = EventBus()
    alerts = Alerts(redact=str, sinks=[recorder], clock=clock)
    alerts.rules = [EventRule("disk_full", ("DiskAlmostFull",), "critical", ("DiskRecovered",))]
    alerts.attach(bus)
    assert alerts.waiting == []
    bus.publish(DiskAlmostFull("db", "timeout", "OperationalError: password=hunter2"))
    bus.publish(DiskRecovered("db"))
    alerts.outbox.pump()
    firing, resolved = recorder.alerts
    assert (firing.rule, firing.severity, firing.labels["reason"]) == (
        "disk_full",
        "critical",
        "timeout",
    )
    assert "exception" not in firing.labels
    assert resolved.status == "resolved"


def test_seawalls_own_event_wins_over_a_namesake() -> None:
    """``ReadinessFailed`` resolves to seawall's event, not to another module's namesake."""
    assert event_class("ReadinessFailed") is events.ReadinessFailed
    assert event_class("DiskAlmostFull") is DiskAlmostFull


def test_no_notification_carries_raw_exception_text_or_secrets() -> None:
    clock = FakeClock(1000.0)
    bus, alerts, (recorder,) = build(clock=clock)
    for _ in range(20):
        bus.publish(failure())
    bus.publish(BreakerStateChanged("mail to alice@example.com", "closed", "open", "x"))
    alerts.outbox.pump()
    text = repr([a.as_dict() for a in recorder.alerts])
    assert "sk_live" not in text
    assert "upstream said" not in text
    assert "alice@example.com" not in text
    assert "[REDACTED" in text


def test_capture_alerts_sees_what_an_app_would_send() -> None:
    pipeline = Pipeline()
    with capture_alerts() as captured:
        try:
            raise KeyError("x")
        except KeyError as exc:
            pipeline.problem(exc, method="GET", path="/x", route=None)
    assert [a.rule for a in captured.alerts] == ["new_error"]
    assert len(captured.named("new_error")) == 1
    assert len(captured) == 1


def test_memory_claims_expire_and_release() -> None:
    clock = FakeClock()
    memory = MemoryAlertMemory(clock=clock, max_keys=4)
    assert memory.claim("a", 10)
    assert not memory.claim("a", 10)
    clock.advance(10)
    assert memory.claim("a", 10)
    memory.release("a")
    assert memory.claim("a", 10)
    for key in "bcdefgh":
        memory.claim(key, 10)
    assert len(memory) <= 4


def test_firing_alerts_are_resent_to_sinks_that_expire_them() -> None:
    """Alertmanager forgets an alert at its endsAt: a breaker still open is re-sent each refresh."""
    clock = FakeClock(1000.0)
    expiring = Recorder("alertmanager")
    expiring.refresh = 60.0
    plain = Recorder("webhook")
    parsed = Settings.from_mapping({})
    alerts = Alerts(parsed.alerts, redact=str, sinks=[expiring, plain], clock=clock)
    bus = EventBus()
    alerts.attach(bus)
    bus.publish(BreakerStateChanged("GET /r", "closed", "open", "failure_rate"))
    alerts.outbox.pump()
    clock.advance(30)
    alerts.outbox.pump()
    clock.advance(31)
    alerts.outbox.pump()
    assert [a.status for a in expiring.alerts] == ["firing", "firing"]
    assert len(plain.alerts) == 1
    bus.publish(BreakerStateChanged("GET /r", "open", "closed", "recovered"))
    clock.advance(61)
    alerts.outbox.pump()
    assert [a.status for a in expiring.alerts] == ["firing", "firing", "resolved"]
    assert alerts.firing == []


def test_with_a_shared_memory_alerts_wait_for_the_workers_claim() -> None:
    """A shared memory is claimed by :meth:`Alerts.settle` (the worker), not by ``notify``:
    nothing is captured or queued before; a lost claim is counted, and claims waiting past
    ``queue_size`` drop the oldest."""
    clock = FakeClock(1000.0)
    shared = MemoryAlertMemory(clock=clock)
    settings = Settings.from_mapping({"alerts": {"queue_size": 2}}).alerts
    recorder = Recorder("sink0")
    alerts = Alerts(settings, redact=str, sinks=[recorder], clock=clock, shared=shared)
    assert shared.claim("taken:warning", 60)  # another worker told "taken"
    with capture_alerts() as captured:
        for key in ("dropped", "taken", "sent"):
            assert alerts.notify(Alert("custom", key, "warning", key))
        assert len(captured) == 0
        assert len(alerts.outbox) == 0
        alerts.settle()
    assert [a.key for a in captured.alerts] == ["sent"]
    assert (alerts.unclaimed_dropped, alerts.shared_lost) == (1, 1)
    alerts.outbox.pump()
    assert [a.key for a in recorder.alerts] == ["sent"]


def test_a_dependency_breaker_opening_fires_and_closing_resolves() -> None:
    """``breaker_open`` listens to DependencyBreakerChanged; a critical dependency is critical."""
    clock = FakeClock(1000.0)
    bus, alerts, (recorder,) = build(clock=clock)
    bus.publish(DependencyBreakerChanged("payments", "closed", "open", "failure_rate", True))
    bus.publish(DependencyBreakerChanged("payments", "open", "half_open", "timer", True))
    bus.publish(DependencyBreakerChanged("payments", "half_open", "closed", "probe", True))
    alerts.outbox.pump()
    firing, resolved = recorder.alerts
    assert (firing.rule, firing.key, firing.severity) == (
        "breaker_open",
        "breaker:payments",
        "critical",
    )
    assert firing.labels["kind"] == "dependency"
    assert resolved.status == "resolved"
    assert alerts.firing == []


def test_retry_budget_exhaustion_is_one_notification_per_incident() -> None:
    """10,000 refused retries a few ms apart, past the engine's cooldown: one notification;
    other outcomes never fire; after a quiet gap longer than the rule's cooldown, a new one."""
    clock = FakeClock(1000.0)
    bus, alerts, (recorder,) = build(
        {"cooldown": 60, "rules": {"retry_budget_exhausted": {"cooldown": 120}}}, clock=clock
    )
    bus.publish(DependencyRetry("payments", "retried", 1, 0.1, "transient"))
    for _ in range(10_000):
        clock.advance(0.05)  # 500 s in all: the engine's 60 s cooldown alone would re-notify
        bus.publish(DependencyRetry("payments", "budget_exhausted", 1, 0.1, "transient"))
    alerts.outbox.pump()
    assert [(a.rule, a.key) for a in recorder.alerts] == [
        ("retry_budget_exhausted", "retry_budget_exhausted:payments")
    ]
    clock.advance(121.0)
    bus.publish(DependencyRetry("payments", "budget_exhausted", 1, 0.1, "transient"))
    alerts.outbox.pump()
    assert len(recorder.alerts) == 2


def test_recovery_exhausted_fires() -> None:
    clock = FakeClock(1000.0)
    bus, alerts, (recorder,) = build(clock=clock)
    bus.publish(RecoveryExhausted("db", "shop.db.reset_pool", 3))
    alerts.outbox.pump()
    (alert,) = recorder.alerts
    assert (alert.rule, alert.severity, alert.labels["dependency"]) == (
        "recovery_exhausted",
        "critical",
        "db",
    )


def test_dead_letter_depth_fires_above_max_once_per_cooldown() -> None:
    clock = FakeClock(1000.0)
    bus, alerts, (recorder,) = build({"rules": {"dead_letter_depth": {"max": 3}}}, clock=clock)
    for depth in range(1, 50):
        bus.publish(DeadLetterStored("mailer", depth))
    alerts.outbox.pump()
    (alert,) = recorder.alerts
    assert (alert.rule, alert.labels["queue"], alert.details["depth"]) == (
        "dead_letter_depth",
        "mailer",
        4,
    )


def test_dead_letter_depth_and_budget_rule_settings() -> None:
    """Defaults: depth above 100, budget incidents of 300 s; false turns them off; bad
    values name their key."""
    rules = Settings.from_mapping({}).alerts.rules
    assert (rules.dead_letter_depth, rules.retry_budget_cooldown) == (100, 300.0)
    off = Settings.from_mapping(
        {"alerts": {"rules": {"dead_letter_depth": False, "retry_budget_exhausted": False}}}
    ).alerts.rules
    assert (off.dead_letter_depth, off.retry_budget_exhausted) == (None, False)
    on = Settings.from_mapping(
        {"alerts": {"rules": {"dead_letter_depth": True, "retry_budget_exhausted": True}}}
    ).alerts.rules
    assert (on.dead_letter_depth, on.retry_budget_exhausted) == (100, True)
    with pytest.raises(SettingsError, match=r"alerts\.rules\.dead_letter_depth\.max"):
        Settings.from_mapping({"alerts": {"rules": {"dead_letter_depth": {"max": -1}}}})
    with pytest.raises(SettingsError, match=r"alerts\.rules\.dead_letter_depth"):
        Settings.from_mapping({"alerts": {"rules": {"dead_letter_depth": "lots"}}})
    with pytest.raises(SettingsError, match=r"alerts\.rules\.retry_budget_exhausted\.cooldown"):
        Settings.from_mapping({"alerts": {"rules": {"retry_budget_exhausted": {"cooldown": "x"}}}})


def test_the_budget_rule_s_memory_stays_bounded() -> None:
    """Past 4,096 dependency names the rule forgets the incidents it tracked."""
    from seawall.observability.alerts.rules import RetryBudgetRule

    clock = FakeClock(1000.0)
    bus, alerts, _ = build(clock=clock)
    (rule,) = [r for r in alerts.rules if isinstance(r, RetryBudgetRule)]
    for i in range(5000):
        bus.publish(DependencyRetry(f"dep{i}", "budget_exhausted", 1, 0.1, "transient"))
    assert len(rule._last) <= 4096
