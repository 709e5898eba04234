"""The ``dependencies`` section and ``correlation.propagate_to``: parsed, defaulted, and every
bad value a SettingsError naming its key path."""

from __future__ import annotations

from typing import Any

import pytest

from seawall.config.schema import BreakerSettings, SettingsError
from seawall.config.settings import Settings

FULL = {
    "payments": {
        "hosts": ["api.payments.example", "*.Pay.Example."],
        "timeout": 2.0,
        "max_concurrency": 10, "max_queue": 0, "max_wait": 0.5,
        "breaker": {"minimum_calls": 5, "failure_rate": 0.4},
        "retry": {
            "attempts": 3, "backoff": 0.1, "max_backoff": 2.0, "jitter": "full",
            "on": ["transient", "rate_limit"],
            "budget": {"ratio": 0.1, "min_per_second": 5},
        },
        "fallback": "tests.unit.test_dependency_settings.fallback",
        "critical": True,
        "recovery": {"action": "tests.unit.test_dependency_settings.reset", "cooldown": 120,
                     "max_attempts": 3, "dry_run": True},
    },
}  # fmt: skip


def fallback(call: Any) -> str:
    return "cached"


def reset() -> None:
    return None


def test_the_issue_example_parses_into_its_dataclasses() -> None:
    """Every key of the issue's example lands where the runtime reads it."""
    (dep,) = Settings.from_mapping({"dependencies": FULL}).dependencies
    assert dep.name == "payments"
    assert dep.hosts == ("api.payments.example", "*.pay.example")
    assert dep.policy.timeout == 2.0
    assert dep.policy.max_concurrency == 10
    assert dep.policy.breaker == BreakerSettings(minimum_calls=5, failure_rate=0.4)
    assert dep.policy.fallback is not None
    assert dep.policy.fallback.__name__ == "fallback"
    assert dep.retry.attempts == 3
    assert dep.retry.on == {"transient", "rate_limited"}
    assert dep.retry.budget.ratio == 0.1
    assert dep.retry.budget.min_per_second == 5
    assert dep.critical is True
    assert dep.recovery is not None
    assert dep.recovery.dry_run
    assert getattr(dep.recovery.action, "__name__", None) == "reset"
    assert dep.recovery.action_name == "tests.unit.test_dependency_settings.reset"


def test_defaults_never_retry_and_are_not_critical() -> None:
    """A bare entry: no retries, no breaker, not critical, no recovery, no route defaults."""
    settings = Settings.from_mapping({"defaults": {"timeout": 30}, "dependencies": {"cache": {}}})
    (dep,) = settings.dependencies
    assert dep.retry.attempts == 1
    assert dep.policy.timeout is None
    assert not dep.critical
    assert dep.recovery is None
    assert dep.policy.breaker is None


def test_a_retry_mapping_retries_three_times_on_transient_and_rate_limits() -> None:
    """``retry: {}`` means the usual retry: 3 attempts, full jitter, the default budget."""
    (dep,) = Settings.from_mapping({"dependencies": {"cache": {"retry": {}}}}).dependencies
    assert dep.retry.attempts == 3
    assert dep.retry.jitter == "full"
    assert dep.retry.on == {"transient", "rate_limited"}


def test_propagate_to_lists_host_patterns() -> None:
    """``correlation.propagate_to`` takes exact hosts and ``*.suffix`` patterns, lower-cased."""
    settings = Settings.from_mapping({"correlation": {"propagate_to": ["*.Internal.example"]}})
    assert settings.correlation.propagate_to == ("*.internal.example",)


@pytest.mark.parametrize(
    ("dependencies", "path"),
    [
        ({"p": {"retry": {"on": ["sometimes"]}}}, "dependencies.p.retry.on"),
        ({"p": {"retry": {"attempts": 0}}}, "dependencies.p.retry.attempts"),
        ({"p": {"retry": {"jitter": "some"}}}, "dependencies.p.retry.jitter"),
        ({"p": {"retry": {"backoff": 3, "max_backoff": 1}}}, "dependencies.p.retry.max_backoff"),
        ({"p": {"retry": {"budget": {"ratio": 2}}}}, "dependencies.p.retry.budget.ratio"),
        ({"p": {"retry": {"budget": {"min_per_second": -1}}}},
         "dependencies.p.retry.budget.min_per_second"),
        ({"p": {"retry": {"budget": {"rate": 1}}}}, "dependencies.p.retry.budget.rate"),
        ({"p": {"hosts": ["https://api.example"]}}, "dependencies.p.hosts"),
        ({"p": {"hosts": "api.example"}}, "dependencies.p.hosts"),
        ({"p": {"timeout_mode": "thread"}}, "dependencies.p.timeout_mode"),
        ({"p": {"timeout": 0}}, "dependencies.p.timeout"),
        ({"p": {"breaker": {"failure_rate": 2}}}, "dependencies.p.breaker.failure_rate"),
        ({"p": {"max_queue": 3}}, "dependencies.p.max_queue"),
        ({"p": {"critical": "yes"}}, "dependencies.p.critical"),
        ({"p": {"fallback": "no.such.module.fn"}}, "dependencies.p.fallback"),
        ({"p": {"recovery": {"cooldown": 5}}}, "dependencies.p.recovery.action"),
        ({"p": {"recovery": {"action": 3}}}, "dependencies.p.recovery.action"),
        ({"p": {"recovery": {"action": reset, "cooldown": 0}}},
         "dependencies.p.recovery.cooldown"),
        ({"p": {"recovery": {"action": reset, "max_attempts": 0}}},
         "dependencies.p.recovery.max_attempts"),
        ({"a b": {}}, 'dependencies."a b"'),
        ({"p": {"hosts": ["x.example"]}, "q": {"hosts": ["X.example"]}}, "dependencies.q.hosts"),
        ({"p": 3}, "dependencies.p"),
    ],
)  # fmt: skip
def test_bad_values_name_their_key_path(dependencies: dict[str, Any], path: str) -> None:
    """Each bad value is refused at start-up with the path of the key that holds it."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_mapping({"dependencies": dependencies})
    assert caught.value.path == path, str(caught.value)


def test_dependencies_must_be_a_mapping() -> None:
    """A list where the mapping of names belongs is refused."""
    with pytest.raises(SettingsError, match="dependencies"):
        Settings.from_mapping({"dependencies": ["payments"]})


def test_bad_propagate_to_names_its_key() -> None:
    """A URL in ``propagate_to`` is refused: it takes host names."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_mapping({"correlation": {"propagate_to": ["http://a.example/"]}})
    assert caught.value.path == "correlation.propagate_to"
