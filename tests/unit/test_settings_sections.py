"""The table of settings sections: top-level keys come from it, and a new section is one field."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pytest

from seawall.config.parse import Parsed, Table
from seawall.config.schema import PolicySettings
from seawall.config.settings import Settings, SettingsError, section


@dataclass(frozen=True, slots=True)
class QuotaSettings:
    """A section of the kind later issues add: its own keys, one inherited from ``defaults``."""

    limit: int = 10
    timeout: float | None = None


def parse_quota(path: str, raw: object, earlier: Parsed) -> QuotaSettings:
    s = Table(path, raw, ("limit", "timeout"))
    defaults = earlier.get("defaults", PolicySettings)
    return QuotaSettings(
        limit=s.integer("limit", 10, minimum=1),
        timeout=s.optional_number("timeout", defaults.timeout, minimum=0, exclusive_min=True),
    )


@dataclass(frozen=True, slots=True)
class WithQuota(Settings):
    """The built-in sections plus one more, declared as one field."""

    quota: QuotaSettings = section(parse_quota, QuotaSettings)


def error(cls: type[Settings], data: dict[str, Any]) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        cls.from_mapping(data)
    return info.value


def test_top_level_keys_are_the_fields_of_settings() -> None:
    """An unknown top-level key is refused, listing the sections ``Settings`` declares, in order."""
    names = [f.name for f in fields(Settings)]
    assert names[:6] == ["correlation", "redaction", "errors", "logging", "defaults", "routes"]
    assert {
        "dead_letter",
        "analytics",
        "alerts",
        "admin",
        "metrics",
        "health",
        "state",
        "dependencies",
    } <= set(names)
    err = error(Settings, {"nonsense": {}})
    assert err.path == "nonsense"
    assert str(err).endswith(f"(known: {', '.join(names)})")


def test_a_new_section_is_parsed_from_its_field() -> None:
    """A section added as one field is read from its key, and defaults when unset."""
    settings = WithQuota.from_mapping(
        {"quota": {"limit": 5}, "correlation": {"incoming": "reject"}}
    )
    assert settings.quota == QuotaSettings(limit=5)
    assert settings.correlation.incoming == "reject"
    assert WithQuota.from_mapping({}).quota == QuotaSettings()
    assert WithQuota.from_mapping({"quota": None}).quota == QuotaSettings()


def test_a_new_section_gets_suggestions_and_key_paths() -> None:
    """A misspelt new section is suggested by name; its bad values are named by their path."""
    misspelt = error(WithQuota, {"qouta": {}})
    assert misspelt.path == "qouta"
    assert "did you mean 'quota'?" in str(misspelt)
    assert error(WithQuota, {"quota": {"limit": 0}}).path == "quota.limit"
    assert "did you mean 'limit'?" in str(error(WithQuota, {"quota": {"limt": 3}}))


def test_a_section_builds_on_the_sections_above_it() -> None:
    """A later section sees the parsed ``defaults`` (as routes do): here, its timeout."""
    settings = WithQuota.from_mapping({"defaults": {"timeout": 3}, "quota": {}})
    assert settings.quota.timeout == 3.0
    assert (
        WithQuota.from_mapping({"defaults": {"timeout": 3}, "quota": {"timeout": 1}}).quota.timeout
        == 1.0
    )


def test_reading_a_section_not_parsed_yet_fails_naming_it() -> None:
    """A section that reads one declared below it is a programming error, raised at once."""
    with pytest.raises(LookupError, match="'missing'"):
        Parsed().get("missing", PolicySettings)
