"""Collecting every settings error: for any bad value, ``seawall check`` reads on without
crashing, lists the error start-up raises, and reports nothing for valid settings."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest

from seawall.cli.check import validate
from seawall.config.settings import Settings, SettingsError

Path = tuple[str | int, ...]

VALID: dict[str, Any] = {
    "correlation": {
        "header": ["X-Request-ID"], "response_header": "X-Request-ID", "incoming": "accept",
        "max_length": 64, "generator": "uuid4", "traceparent": True,
        "propagate_to": ["api.example.com"],
    },
    "redaction": {
        "keys": ["pin"], "safe_keys": ["id"], "detectors": {}, "patterns": {"tok": "T[0-9]+"},
        "placeholder": "label", "card_last4": True, "max_field_length": 100, "max_depth": 10,
        "max_items": 10, "frame_locals": False,
    },
    "errors": {
        "map": {
            "builtins.KeyError": {
                "status": 404, "title": "x", "classification": "not_found",
                "headers": {"X-A": "b"},
            }
        },
        "debug": False, "format": "json", "log_client_errors": True, "traceback_frames": 5,
    },
    "logging": {"format": "json", "level": "INFO"},
    "defaults": {
        "timeout": 5, "max_concurrency": 4, "max_queue": 2, "max_wait": 1,
        "breaker": {
            "failure_rate": 0.5, "window": 10, "minimum_calls": 5, "open_for": 10,
            "max_open_for": 20, "failure_statuses": [500],
        },
    },
    "routes": {
        "GET /a/{id}": {
            "timeout": 2, "fallback": "builtins.len", "fallback_on": ["error"],
            "stale_if_error": 10, "critical": True,
        },
        "/b/*": {"breaker": False},
    },
    "dependencies": {
        "pay": {
            "timeout": 1, "hosts": ["pay.example"], "critical": True, "dead_letter": False,
            "retry": {
                "attempts": 2, "backoff": 0.1, "max_backoff": 1, "on": ["transient"],
                "budget": {"ratio": 0.1},
            },
            "recovery": {"action": "builtins.print", "cooldown": 5},
        }
    },
    "state": {"backend": "memory", "url": "redis://x", "prefix": "p", "timeout": 1},
    "admin": {"path": "/_s", "token": "t"},
    "metrics": {"enabled": False, "path": "/metrics", "buckets": [0.1, 1]},
    "health": {"path": "/health", "checks": {"db": "builtins.int"}, "timeout": 1, "details": "token"},
    "analytics": {"enabled": True, "max_fingerprints": 10},
    "alerts": {
        "sinks": [{"type": "webhook", "url": "https://x.example/h", "secret": "s"}, {"type": "log"}],
        "rules": {
            "new_error": True, "error_spike": {"window": 60},
            "retry_budget_exhausted": {"cooldown": 5}, "dead_letter_depth": {"max": 5},
        },
        "cooldown": 10,
    },
    "dead_letter": {"backend": "sqlite", "path": "x.db", "retention": 10, "max_entries": 10},
}  # fmt: skip
"""Settings with every section and most keys set, all valid."""

BAD: tuple[object, ...] = (None, 5, -1, 0, "x", "", [], {}, [1], {"zz": 1}, True, 2.5, ["x", 3])


def paths(value: object, prefix: Path = ()) -> Iterator[Path]:
    """Every key and list index under ``value``, parents first."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield (*prefix, key)
        yield from paths(item, (*prefix, key))


def with_value(raw: dict[str, Any], path: Path, value: object) -> dict[str, Any]:
    """A copy of ``raw`` with ``value`` at ``path``."""
    copied = copy.deepcopy(raw)
    target: Any = copied
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copied


def found(raw: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e.path, str(e)) for e in validate(raw)}


def raised(raw: dict[str, Any]) -> tuple[str, str] | None:
    try:
        Settings.from_mapping(raw)
    except SettingsError as exc:
        return exc.path, str(exc)
    return None


ALL_PATHS = list(paths(VALID))


def test_valid_settings_have_no_error() -> None:
    """The reference settings parse at start-up and give ``seawall check`` nothing to say."""
    Settings.from_mapping(VALID)
    assert validate(VALID) == []


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda path: ".".join(map(str, path)))
def test_any_one_bad_value_is_listed_and_the_check_reads_on(path: Path) -> None:
    """Any value at any key: the check never crashes, lists the error start-up raises, and
    lists nothing when start-up accepts it."""
    for bad in BAD:
        raw = with_value(VALID, path, bad)
        first = raised(raw)
        listed = found(raw)
        assert (first in listed) if first else not listed, (bad, first, listed)


def test_two_bad_values_are_both_listed() -> None:
    """Two bad values anywhere (one not under the other) give the errors of each."""
    rng = random.Random(17)
    for _ in range(200):
        (p1, b1), (p2, b2) = ((rng.choice(ALL_PATHS), rng.choice(BAD)) for _ in range(2))
        if p1[: len(p2)] == p2 or p2[: len(p1)] == p1:
            continue
        both = with_value(with_value(VALID, p1, b1), p2, b2)
        alone = found(with_value(VALID, p1, b1)) | found(with_value(VALID, p2, b2))
        assert alone <= found(both), (p1, b1, p2, b2)
