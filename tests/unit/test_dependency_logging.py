"""What the log writes about dependencies: breaker moves, refused retries (throttled), recovery."""

from __future__ import annotations

import threading

import pytest

import seawall
from seawall.clock import FakeClock
from seawall.observability.events import RecoveryRan
from seawall.testing import CapturedLogs


def down() -> None:
    raise ConnectionError("down")


def test_breaker_moves_and_refused_retries_are_logged_once_per_window(logs: CapturedLogs) -> None:
    """A storm of refused retries gives one line (10 s window); the breaker move one line."""
    clock = FakeClock(50.0)
    deps = seawall.Dependencies({"dependencies": {"db": {
        "retry": {"attempts": 3, "budget": {"ratio": 0.0, "min_per_second": 0}},
        "breaker": {"minimum_calls": 50}}}}, clock=clock)  # fmt: skip
    for _ in range(60):
        with pytest.raises((ConnectionError, seawall.CircuitOpenError)):
            deps["db"].call(down)
    (refused,) = logs.named("dependency_retry_refused")
    assert (refused["dependency"], refused["reason"]) == ("db", "budget_exhausted")
    (moved,) = logs.named("dependency_breaker_changed")
    assert (moved["new_state"], moved["critical"]) == ("open", False)


def test_recovery_runs_and_exhaustion_are_logged(logs: CapturedLogs) -> None:
    """A failed run is an error line; a re-opening after the last attempt another."""
    ran = threading.Event()

    def reset_pool() -> None:
        raise OSError("still wedged")

    clock = FakeClock(0.0)
    deps = seawall.Dependencies({"dependencies": {"db": {
        "breaker": {"minimum_calls": 1, "open_for": 1, "jitter": 0},
        "recovery": {"action": reset_pool, "cooldown": 1, "max_attempts": 1}}}},
        clock=clock)  # fmt: skip
    deps.events.subscribe(RecoveryRan, lambda e: ran.set())
    with pytest.raises(ConnectionError):
        deps["db"].call(down)  # opens: the one recovery run
    assert ran.wait(10)
    clock.advance(5)
    with pytest.raises(ConnectionError):
        deps["db"].call(down)  # the half-open probe fails: open again, no attempts left
    (line,) = logs.named("dependency_recovery")
    assert (line["outcome"], line["exception"], line["attempt"]) == ("failed", "OSError", 1)
    (exhausted,) = logs.named("dependency_recovery_exhausted")
    assert (exhausted["dependency"], exhausted["attempts"]) == ("db", 1)
