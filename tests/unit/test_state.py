"""The state settings, the messages workers exchange, hold_open and the memory backend."""

from __future__ import annotations

import sys

import pytest

from seawall.clock import FakeClock
from seawall.config.schema import BreakerSettings, SettingsError, StateSettings
from seawall.config.settings import Settings
from seawall.resilience.breaker import CircuitBreaker, State
from seawall.server.pipeline import Pipeline
from seawall.state import LocalState
from seawall.state.actions import ACTIONS, apply_action
from seawall.state.messages import OPENED, Message, decode, encode


def test_state_defaults_are_the_issue_s() -> None:
    assert Settings.from_mapping({}).state == StateSettings(
        backend="memory", url="redis://127.0.0.1:6379/0", prefix="seawall:", timeout=0.05
    )


@pytest.mark.parametrize(
    ("state", "path", "said"),
    [
        ({"backend": "sqlite"}, "state.backend", "'sqlite' is not one of 'memory', 'redis'"),
        ({"url": "http://127.0.0.1:6379"}, "state.url", "is not a Redis URL"),
        ({"prefix": ""}, "state.prefix", "non-empty string"),
        ({"timeout": 0}, "state.timeout", "greater than 0"),
        ({"timeout": 30}, "state.timeout", "at most 10"),
        ({"timeot": 1}, "state.timeot", "did you mean 'timeout'"),
    ],
)
def test_bad_state_settings_name_the_key(state: dict[str, object], path: str, said: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping({"state": state})
    assert info.value.path == path
    assert said in str(info.value)


def test_redis_backend_without_redis_py_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """redis-py missing (its import fails): a SettingsError with the pip command."""
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping({"state": {"backend": "redis"}})
    assert info.value.path == "state.backend"
    assert "pip install seawall[redis]" in str(info.value)


def test_the_redis_backend_is_read_from_the_environment() -> None:
    settings = Settings.from_env(
        environ={"SEAWALL_STATE__BACKEND": "redis", "SEAWALL_STATE__URL": "redis://h:1/2"}
    )
    assert (settings.state.backend, settings.state.url) == ("redis", "redis://h:1/2")


@pytest.mark.parametrize(
    "message",
    [
        Message(OPENED, "GET /items/{id}", "w1", 1796240000.25),
        Message("closed", "dep", "w2"),
        *(Message(action, "x y/z", "cli") for action in ACTIONS),
    ],
)
def test_messages_survive_the_channel(message: Message) -> None:
    assert decode(encode(message)) == message
    assert decode(encode(message).encode()) == message


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff",
        "not json",
        "[1, 2]",
        '{"op": "explode", "name": "a", "origin": "w"}',
        '{"op": "closed", "name": 1, "origin": "w"}',
        '{"op": "closed", "name": "a"}',
        '{"op": "opened", "name": "a", "origin": "w"}',
        '{"op": "opened", "name": "a", "origin": "w", "until": true}',
    ],
)
def test_anything_else_on_the_channel_is_ignored(raw: str | bytes) -> None:
    assert decode(raw) is None


def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("b", BreakerSettings(minimum_calls=2, open_for=10), clock=clock)


def test_hold_open_opens_a_closed_breaker_until_the_given_time() -> None:
    """Rejects until ``until``, then half-open as after a local trip; one transition event."""
    clock = FakeClock()
    b = breaker(clock)
    events: list[object] = []
    b.add_listener(events.append)
    assert b.hold_open(clock() + 3, "shared_open")
    assert b.try_acquire() is None
    assert b.hold_open(clock() + 5, "shared_open")  # moves the end, no second event
    clock.advance(4.9)
    assert b.try_acquire() is None
    clock.advance(0.2)
    permit = b.try_acquire()
    assert permit is not None
    assert permit.is_probe
    assert len(events) == 2  # open, then half-open


@pytest.mark.parametrize("action", ["force_open", "disable", "metrics_only"])
def test_hold_open_keeps_a_manual_state(action: str) -> None:
    clock = FakeClock()
    b = breaker(clock)
    apply_action(b, action)
    held = b.state
    assert not b.hold_open(clock() + 3, "shared_open")
    assert b.state is held


def test_an_action_already_in_place_is_not_entered_again() -> None:
    """A resync re-applying force_open changes nothing and sends no event."""
    b = breaker(FakeClock())
    events: list[object] = []
    b.add_listener(events.append)
    apply_action(b, "force_open")
    apply_action(b, "force_open")
    assert len(events) == 1


def test_the_memory_backend_acts_on_this_process_only() -> None:
    """Every breaker of the name; an unknown action is a ValueError naming the known ones."""
    pipeline = Pipeline({"routes": {"GET /a": {"breaker": {}}}})
    state = pipeline.state
    assert isinstance(state, LocalState)
    assert state.backend == "memory"
    (entry,) = state.command("GET /a", "force_open")
    assert entry.breaker.state is State.FORCED_OPEN
    assert state.command("GET /nowhere", "reset") == []
    with pytest.raises(ValueError, match="force_open, close"):
        state.command("GET /a", "explode")
    with pytest.raises(ValueError, match="unknown breaker action"):
        apply_action(entry.breaker, "explode")
    state.close()
