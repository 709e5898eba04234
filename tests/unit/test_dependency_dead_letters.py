"""``dependencies.NAME.dead_letter: true``: calls that fail for good are stored once, replayed
through the dependency's policy, and their HTTP requests carry the entry's Idempotency-Key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import seawall
from seawall import dead_letter
from seawall.clock import FakeClock
from seawall.config.schema import DeadLetterSettings, SettingsError
from seawall.config.settings import Settings
from seawall.context.correlation import reset_correlation_id, set_correlation_id
from seawall.context.deadline import deadline_scope
from seawall.dead_letter import DeadLetters
from seawall.dead_letter.depth import DepthEstimate
from seawall.dead_letter.entry import Entry
from seawall.dead_letter.queue import REPLAYING
from seawall.integrations.httpx import Transport
from seawall.observability.events import DeadLetterStored, EventBus
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, capture_alerts
from tests import dead_letter_target as target


@pytest.fixture(autouse=True)
def _fresh_target() -> Iterator[None]:
    target.FAILING[0] = 0
    target.RUNS.clear()
    yield
    dead_letter.configure(None)  # closes the queue a test opened, opens none


def make(tmp_path: Path, mailer: dict[str, Any], **kw: Any) -> seawall.Dependencies:
    """Dependencies whose ``mailer`` dead-letters, on a fake clock a second old."""
    clock = FakeClock(100.0)
    deps = seawall.Dependencies(
        {
            "dead_letter": {"path": str(tmp_path / "d.sqlite3")},
            "dependencies": {"mailer": {"dead_letter": True, **mailer}},
        },
        clock=clock, sleep=clock.advance, random=lambda: 0.5, **kw,
    )  # fmt: skip
    clock.advance(1.0)
    return deps


def stored() -> list[Entry]:
    return dead_letter.default().entries()


def test_the_setting_is_a_flag() -> None:
    """``dead_letter`` defaults to false; anything but a bool is an error naming the key."""
    (dep,) = Settings.from_mapping({"dependencies": {"mailer": {}}}).dependencies
    assert dep.dead_letter is False
    with pytest.raises(SettingsError, match=r"dependencies\.mailer\.dead_letter.*'yes'"):
        Settings.from_mapping({"dependencies": {"mailer": {"dead_letter": "yes"}}})


def test_a_call_that_fails_for_good_is_stored_and_still_raises(tmp_path: Path) -> None:
    """Retries spent: the caller gets the error; the entry has what a replay and a person
    need, the error text redacted."""
    make(tmp_path, {"retry": {"attempts": 2}})
    target.FAILING[0] = 5
    token = set_correlation_id("req-1")
    try:
        with pytest.raises(ConnectionError):
            target.send_mail("ann@example.com", subject="hi")
    finally:
        reset_correlation_id(token)
    (entry,) = stored()
    assert entry.queue == "mailer"
    assert entry.target == "tests.dead_letter_target.send_mail"
    assert entry.payload == {"args": ["ann@example.com"], "kwargs": {"subject": "hi"}}
    assert entry.attempts == 2
    assert entry.first_error is not None
    assert entry.last_error is not None
    assert entry.first_error.type == entry.last_error.type == "ConnectionError"
    assert "hunter2" not in entry.last_error.message
    assert entry.correlation_id == "req-1"
    assert entry.replayable
    assert len(entry.idempotency_key) == 32


def test_dependencies_without_the_flag_store_nothing(tmp_path: Path) -> None:
    seawall.Dependencies(
        {"dead_letter": {"path": str(tmp_path / "d.sqlite3")}, "dependencies": {"mailer": {}}}
    )
    target.FAILING[0] = 1
    with pytest.raises(ConnectionError):
        target.send_mail("ann", subject="hi")
    assert stored() == []


def test_the_call_s_own_idempotency_key_is_kept(tmp_path: Path) -> None:
    make(tmp_path, {})
    target.FAILING[0] = 1
    with pytest.raises(ConnectionError):
        target.send_mail("ann", subject="hi", idempotency_key="order-7")
    assert stored()[0].idempotency_key == "order-7"


@pytest.mark.parametrize(
    ("policy", "error"),
    [
        ({"breaker": {"minimum_calls": 1, "failure_rate": 0.5}}, seawall.CircuitOpenError),
        ({"max_concurrency": 1, "max_queue": 0}, seawall.BulkheadFullError),
    ],
)
def test_refused_calls_are_stored(
    tmp_path: Path, policy: dict[str, Any], error: type[BaseException]
) -> None:
    """An open breaker or a full bulkhead fails the call for good without running it."""
    deps = make(tmp_path, policy)
    if error is seawall.CircuitOpenError:
        target.FAILING[0] = 1
        with pytest.raises(ConnectionError):
            target.send_mail("first", subject="s")
    else:
        deps["mailer"].engine.bulkhead.acquire(None)  # type: ignore[union-attr]
    with pytest.raises(error):
        target.send_mail("refused", subject="s")
    entry = stored()[-1]
    assert entry.payload["args"] == ["refused"]
    assert (entry.attempts, entry.last_error.type.rsplit(".", 1)[-1]) == (  # type: ignore[union-attr]
        0,
        error.__name__,
    )


def test_a_passed_deadline_is_stored(tmp_path: Path) -> None:
    clock = FakeClock(0.0)
    make(tmp_path, {})
    with deadline_scope(1.0, clock=clock):
        clock.advance(2.0)
        with pytest.raises(seawall.DeadlineExceededError):
            target.send_mail("late", subject="s")
    assert [e.payload["args"] for e in stored()] == [["late"]]
    assert target.RUNS == []


def test_a_refused_retry_is_stored_with_the_attempt_s_error(tmp_path: Path) -> None:
    """The breaker opening between attempts: stored once, with the error the caller got."""
    make(tmp_path, {"retry": {"attempts": 3}, "breaker": {"minimum_calls": 1, "failure_rate": 0.5}})
    target.FAILING[0] = 5
    with pytest.raises(ConnectionError):
        target.send_mail("ann", subject="s")
    (entry,) = stored()
    assert entry.attempts == 1
    assert entry.last_error is not None
    assert entry.last_error.type == "ConnectionError"


def test_a_fallback_still_answers_and_the_entry_is_still_stored(tmp_path: Path) -> None:
    """The real operation did not happen: the caller gets the fallback, the queue the call."""
    make(tmp_path, {"fallback": "tests.dead_letter_target.fallback_mail"})
    target.FAILING[0] = 1
    assert target.send_mail("ann", subject="s") == "queued"
    assert len(stored()) == 1


def test_async_calls_are_stored_and_replayed(tmp_path: Path) -> None:
    make(tmp_path, {})
    target.FAILING[0] = 1
    with pytest.raises(ConnectionError):
        asyncio.run(target.send_mail_async("ann"))
    assert len(stored()) == 1
    assert dead_letter.default().replay().succeeded == 1
    assert target.RUNS == [("ann",), ("ann",)]
    assert stored() == []


def test_a_failing_store_never_reaches_the_caller(tmp_path: Path, logs: CapturedLogs) -> None:
    """The store raising: the caller gets its own error, the log one event."""

    class Broken(DeadLetters):
        def record_call(self, *args: Any, **kwargs: Any) -> None:
            raise OSError("disk full")

    broken = Broken(DeadLetterSettings(path=str(tmp_path / "b.sqlite3")))
    make(tmp_path, {}, dead_letters=broken)
    target.FAILING[0] = 1
    with pytest.raises(ConnectionError):
        target.send_mail("ann", subject="s")
    failed = logs.named("dead_letter_store_failed")
    assert len(failed) == 1
    assert (failed[0]["dependency"], failed[0]["error_type"]) == ("mailer", "OSError")
    broken.close()


def test_an_explicit_queue_wins_over_the_process_wide_one(tmp_path: Path) -> None:
    mine = DeadLetters(DeadLetterSettings(path=str(tmp_path / "mine.sqlite3")))
    make(tmp_path, {}, dead_letters=mine)
    target.FAILING[0] = 1
    with pytest.raises(ConnectionError):
        target.send_mail("ann", subject="s")
    assert len(mine.entries()) == 1
    assert stored() == []
    mine.close()


def test_stored_once_a_replay_success_removes_a_failure_backs_off(tmp_path: Path) -> None:
    """A failed replay counts an attempt and waits; it is not stored a second time."""
    make(tmp_path, {"retry": {"attempts": 2}})
    target.FAILING[0] = 2
    with pytest.raises(ConnectionError):
        target.send_mail("ann", subject="s")
    (entry,) = stored()
    target.FAILING[0] = 2  # the replay's two attempts (the policy's retries) fail too
    report = dead_letter.default().replay()
    assert (report.succeeded, report.failed) == (0, 1)
    (again,) = stored()
    assert again.id == entry.id
    assert again.attempts == entry.attempts + 1
    assert again.next_attempt >= entry.next_attempt + 30
    assert dead_letter.default().replay(due=True).succeeded == 0  # not due yet
    assert dead_letter.default().replay().succeeded == 1
    assert stored() == []
    assert target.RUNS[-1] == ("ann", "s", entry.idempotency_key)
    assert len(target.RUNS) == 5  # 2 first, 2 in the failed replay (retried), 1 success


def test_a_replay_runs_through_the_breaker_and_never_the_fallback(tmp_path: Path) -> None:
    """With the breaker open the replay is refused without running; a fallback never turns
    a failed replay into a success."""
    deps = make(
        tmp_path,
        {
            "breaker": {"minimum_calls": 1, "failure_rate": 0.5},
            "fallback": "tests.dead_letter_target.fallback_mail",
        },
    )
    target.FAILING[0] = 1
    assert target.send_mail("ann", subject="s") == "queued"
    assert deps["mailer"].breaker.state.value == "open"  # type: ignore[union-attr]
    runs = len(target.RUNS)
    report = dead_letter.default().replay()
    assert (report.succeeded, report.failed) == (0, 1)
    assert len(target.RUNS) == runs
    (entry,) = stored()
    assert entry.last_error is not None
    assert entry.last_error.type.endswith("CircuitOpenError")


def test_queues_that_are_not_dependencies_replay_directly(tmp_path: Path) -> None:
    make(tmp_path, {"breaker": {"minimum_calls": 1, "failure_rate": 0.5}})
    queue = dead_letter.default()
    queue.record_call(
        "other", target.remember, ("x",), {}, attempts=1, first_error=None, last_error=None
    )
    target.CALLS.clear()
    assert queue.replay().succeeded == 1
    assert target.CALLS[-1][0] == "x"


def _echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"key": request.headers.get("idempotency-key")})


def test_httpx_requests_in_a_replay_carry_the_entry_s_key() -> None:
    """Only during a replay, never overwriting a key the request has."""
    client = httpx.Client(transport=Transport(httpx.MockTransport(_echo)))
    entry = Entry("1", "mailer", None, "k-123", 0.0, 0.0)
    assert client.get("http://127.0.0.1/").json()["key"] is None
    token = REPLAYING.set(entry)
    try:
        assert client.post("http://127.0.0.1/").json()["key"] == "k-123"
        own = client.post("http://127.0.0.1/", headers={"Idempotency-Key": "mine"})
        assert own.json()["key"] == "mine"
    finally:
        REPLAYING.reset(token)


def test_an_install_configures_the_process_wide_queue_and_its_bus(tmp_path: Path) -> None:
    """The pipeline's dependencies store in the settings' queue; each put is an event on the
    pipeline's bus with the queue's depth."""
    path = tmp_path / "app.sqlite3"
    pipeline = Pipeline(
        {"dead_letter": {"path": str(path)}, "dependencies": {"mailer": {"dead_letter": True}}}
    )
    seen: list[DeadLetterStored] = []
    pipeline.events.subscribe(DeadLetterStored, seen.append)
    target.FAILING[0] = 3
    for _ in range(3):
        with pytest.raises(ConnectionError):
            target.send_mail("ann", subject="s")
    assert dead_letter.default().settings.path == str(path)
    assert [(e.queue, e.depth) for e in seen] == [("mailer", 1), ("mailer", 2), ("mailer", 3)]


def test_an_app_s_depth_alert_fires_from_its_dependencies_dead_letters(tmp_path: Path) -> None:
    """``alerts.rules.dead_letter_depth`` of the installed app sees the puts of its
    dependencies: one notification once the queue passes ``max``."""
    Pipeline(
        {
            "dead_letter": {"path": str(tmp_path / "app.sqlite3")},
            "dependencies": {"mailer": {"dead_letter": True}},
            "alerts": {"rules": {"dead_letter_depth": {"max": 2}}},
        }
    )
    target.FAILING[0] = 5
    with capture_alerts() as alerts:
        for _ in range(5):
            with pytest.raises(ConnectionError):
                target.send_mail("ann", subject="s")
    assert [(a.rule, a.details["depth"]) for a in alerts.alerts] == [("dead_letter_depth", 3)]


def test_the_depth_estimate_counts_the_store_at_most_once_a_minute() -> None:
    """Between two samples puts are counted in memory; removals show at the next sample."""
    clock = FakeClock(0.0)
    store = {"mailer": 10}
    counted: list[float] = []

    def count() -> dict[str, int]:
        counted.append(clock())
        return dict(store)

    depth = DepthEstimate(count, clock=clock)
    assert depth.after_put("mailer") == 10
    assert [depth.after_put("mailer") for _ in range(3)] == [11, 12, 13]
    assert depth.after_put("other") == 1
    store["mailer"] = 2  # drained by a replay
    clock.advance(59.0)
    assert depth.after_put("mailer") == 14
    clock.advance(1.0)
    assert depth.after_put("mailer") == 2
    assert counted == [0.0, 60.0]


def test_configuring_the_same_store_again_keeps_it_open(tmp_path: Path) -> None:
    """A second install on the same ``dead_letter`` settings keeps the open queue (no close
    under a concurrent put) and moves its events to the newer bus."""
    settings = {"dead_letter": {"path": str(tmp_path / "d.sqlite3")}}
    dead_letter.configure(settings)
    first = dead_letter.default()
    bus = EventBus()
    dead_letter.configure(settings, events=bus)
    assert dead_letter.default() is first
    assert first.events is bus
