"""Alert delivery: bounded queue, retries with backoff, Slack batching, signed webhooks, the
worker thread, and a sink that hangs adding nothing to requests. Real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import tracemalloc
from collections.abc import Sequence
from typing import Any

import pytest
import structlog

from seawall.clock import FakeClock
from seawall.config.schema import AlertSink
from seawall.observability.alerts import (
    SIGNATURE_HEADER,
    Alert,
    AlertmanagerSink,
    LogSink,
    MemoryAlertMemory,
    Outbox,
    SlackSink,
    WebhookSink,
)
from seawall.observability.alerts.http import DeliveryError
from seawall.observability.alerts.sinks import sink_from_settings
from seawall.observability.alerts.worker import Worker
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs
from tests.receiver import receiver

ALERT = Alert(
    "breaker_open", "breaker:GET /r", "warning", "breaker GET /r opened", started_at=1.8e9
)


def _drop(logger: Any, name: str, event: Any) -> Any:
    raise structlog.DropEvent


class Flaky:
    """Fails ``failures`` times (with ``error``), then records."""

    batch_interval = 0.0
    refresh: float | None = None

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.name = "flaky"
        self.failures = failures
        self.error = error or DeliveryError("HTTP 503")
        self.calls = 0
        self.alerts: list[Alert] = []

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.alerts.extend(alerts)


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    sink = Flaky(0)
    outbox = Outbox([sink], size=3, clock=FakeClock())
    for i in range(5):
        outbox.put(Alert("r", f"k{i}", "info", f"alert {i}"))
    assert len(outbox) == 3
    assert outbox.dropped == 2
    outbox.pump()
    assert [a.key for a in sink.alerts] == ["k2", "k3", "k4"]


def test_a_batch_waiting_for_its_retry_counts_each_of_its_alerts() -> None:
    """Three alerts fail together and wait to be retried: the queue of three is full, so the
    next alert drops that batch (counted as three), never holding more than ``size``."""
    sink = Flaky(1)
    outbox = Outbox([sink], size=3, clock=FakeClock())
    for i in range(3):
        outbox.put(Alert("r", f"k{i}", "info", f"alert {i}"))
    outbox.pump()  # one batch of three, refused: now a retry
    assert len(outbox) == 3
    outbox.put(Alert("r", "k3", "info", "alert 3"))
    assert len(outbox) == 1
    assert outbox.dropped == 3


def test_failed_deliveries_are_retried_with_backoff_then_given_up() -> None:
    clock = FakeClock()
    sink = Flaky(2)
    outbox = Outbox([sink], retries=3, backoff=1.0, clock=clock)
    outbox.put(ALERT)
    assert outbox.pump() == 1.0  # first failure: retry in 1 s
    assert outbox.pump() == 1.0
    assert sink.calls == 1
    clock.advance(1.0)
    assert outbox.pump() == 2.0  # second failure: 2 s
    clock.advance(2.0)
    assert outbox.pump() is None
    assert sink.alerts == [ALERT]
    assert outbox.delivered == 1
    hopeless = Flaky(99)
    given_up = Outbox([hopeless], retries=2, backoff=1.0, clock=clock)
    given_up.put(ALERT)
    for _ in range(5):
        given_up.pump()
        clock.advance(10)
    assert hopeless.calls == 3
    assert given_up.failed == 1


def test_a_refusal_that_retrying_cannot_fix_is_not_retried() -> None:
    sink = Flaky(99, DeliveryError("HTTP 400", retry=False))
    outbox = Outbox([sink], clock=FakeClock())
    outbox.put(ALERT)
    outbox.pump()
    assert sink.calls == 1
    assert outbox.failed == 1


def test_slack_gets_at_most_one_message_per_second() -> None:
    clock = FakeClock()
    with receiver() as hook:
        slack = SlackSink(hook.url + "/slack")
        outbox = Outbox([slack], clock=clock)
        for i in range(3):
            outbox.put(Alert("new_error", f"error:{i}", "warning", f"new error {i}"))
        outbox.pump()
        outbox.put(Alert("new_error", "error:4", "warning", "new error 4"))
        assert outbox.pump() == 1.0  # batched, waits for the next second
        clock.advance(1.0)
        outbox.pump()
        first, second = hook.wait_for(2)
    assert first.json()["text"].count("\n") == 2  # three alerts, one message
    assert "new error 4" in second.json()["text"]
    assert len(hook.requests) == 2


def test_webhook_signs_the_body_with_hmac_sha256() -> None:
    with receiver() as hook:
        sink = sink_from_settings(
            AlertSink("webhook", url=hook.url + "/hook", secret="s3cret"), cooldown=300
        )
        sink.deliver([ALERT], 5.0)
        unsigned = WebhookSink(hook.url + "/hook")
        unsigned.deliver([ALERT], 5.0)
        signed, plain = hook.wait_for(2)
    expected = hmac.new(b"s3cret", signed.body, hashlib.sha256).hexdigest()
    assert signed.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert SIGNATURE_HEADER not in plain.headers
    assert signed.json()["alerts"][0]["key"] == "breaker:GET /r"


def test_alertmanager_payload_has_the_v2_fields() -> None:
    with receiver() as am:
        sink = AlertmanagerSink(am.url, generator_url="https://ops.example/seawall")
        sink.deliver([ALERT, ALERT.resolved(1.8e9 + 60)], 5.0)
        (posted,) = am.wait_for(1)
    assert posted.path == "/api/v2/alerts"
    firing, resolved = posted.json()
    assert firing["labels"]["alertname"] == "seawall_breaker_open"
    assert firing["labels"]["severity"] == "warning"
    assert firing["annotations"]["summary"] == "breaker GET /r opened"
    assert firing["startsAt"].startswith("2027-01-15T08:00:00")
    assert firing["generatorURL"].startswith("https://ops.example/seawall?key=")
    assert firing["endsAt"] > firing["startsAt"]
    assert resolved["endsAt"].startswith("2027-01-15T08:01:00")


def test_http_errors_say_whether_to_retry() -> None:
    with receiver(statuses=[503, 404]) as hook:
        sink = WebhookSink(hook.url)
        errors = []
        for _ in range(2):
            try:
                sink.deliver([ALERT], 5.0)
            except DeliveryError as exc:
                errors.append(exc.retry)
    assert errors == [True, False]
    with pytest.raises(DeliveryError) as refused:
        WebhookSink("http://127.0.0.1:9/nothing").deliver([ALERT], 1.0)
    assert refused.value.retry


def test_log_sink_writes_one_alert_event(logs: CapturedLogs) -> None:
    LogSink().deliver([ALERT, ALERT.resolved(1.8e9)], 1.0)
    firing, resolved = logs.named("alert")
    assert (firing["level"], firing["rule"], firing["alert"]) == (
        "warning",
        "breaker_open",
        "breaker GET /r opened",
    )
    assert resolved["status"] == "resolved"


def test_the_worker_thread_delivers_an_apps_alerts() -> None:
    with receiver() as hook:
        pipeline = Pipeline({"alerts": {"sinks": [{"type": "webhook", "url": hook.url}]}})
        try:
            try:
                raise RuntimeError("boom")
            except RuntimeError as exc:
                pipeline.problem(exc, method="GET", path="/x", route="GET /x")
            (received,) = hook.wait_for(1)
        finally:
            pipeline.alerts.close()
    assert received.json()["alerts"][0]["rule"] == "new_error"


def test_the_worker_restarts_after_fork_and_survives_a_broken_outbox() -> None:
    worker = Worker()

    class Broken(Outbox):
        def pump(self) -> float | None:
            raise RuntimeError("bug")

    sink = Flaky(0)
    good = Outbox([sink])
    worker.add(Broken([sink]))
    worker.add(good)
    worker._pid = -1  # as in a forked child: the thread is gone
    good.put(ALERT)
    deadline = time.monotonic() + 10
    while not sink.alerts and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.alerts == [ALERT]
    worker.remove(good)


def test_a_hanging_sink_adds_nothing_to_requests_and_memory_stays_bounded() -> None:
    """A webhook that never answers (30 s timeout): 6,000 failing requests, each of a new
    fingerprint, all stay fast; the queue holds queue_size and counts what it dropped, and
    memory stops growing once the queue, the groups and the claims are full."""
    with receiver(hang=True) as hook:
        settings = {
            "alerts": {
                "sinks": [{"type": "webhook", "url": hook.url}],
                "timeout": 30,
                "queue_size": 50,
            },
            "analytics": {"max_fingerprints": 100},
        }
        pipeline = Pipeline(settings, logger=structlog.wrap_logger(None, processors=[_drop]))
        pipeline.alerts.memory = MemoryAlertMemory(max_keys=1000)  # full sooner than 10,000
        errors = [type(f"Failure{i}", (Exception,), {}) for i in range(6000)]
        try:
            hook.wait_for(0)
            tracemalloc.start()
            slowest = 0.0
            for i, kind in enumerate(errors):
                start = time.perf_counter()
                try:
                    raise kind("x")
                except Exception as exc:
                    pipeline.problem(exc, method="GET", path="/x", route="GET /x")
                slowest = max(slowest, time.perf_counter() - start)
                if i == 3000:
                    baseline, _ = tracemalloc.get_traced_memory()
            current, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert hook.wait_for(1, timeout=10)  # the sink's lane is stuck in the hanging request
            assert slowest < 1.0  # far under the 30 s the sink hangs
            assert len(pipeline.alerts.outbox) <= 50
            assert pipeline.alerts.outbox.dropped >= 5900
            assert len(pipeline.analytics) == 100
            assert current - baseline < 500_000
        finally:
            pipeline.alerts.close()
    assert json.loads(hook.requests[0].body)["alerts"]
