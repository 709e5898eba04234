"""Settings: parsing the contract, inheritance, and start-up errors naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from seawall.config.schema import BreakerSettings
from seawall.config.settings import Settings, SettingsError


class OutOfStockError(Exception):
    """A user exception mapped from settings."""


def fallback_reports() -> str:
    return "cached"


def error(data: dict[str, Any]) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(data)
    return info.value


def test_empty_settings_give_safe_defaults() -> None:
    """No settings at all is valid: uuid4 ids from X-Request-ID, no route policies."""
    settings = Settings.from_mapping(None)
    assert settings.correlation.headers == ("X-Request-ID",)
    assert settings.correlation.incoming == "accept"
    assert settings.routes == ()
    assert settings.defaults.is_empty


def test_design_contract_example_parses() -> None:
    """The settings example of the design document is accepted as written."""
    settings = Settings.from_mapping(
        {
            "correlation": {"header": "X-Request-ID", "incoming": "accept", "max_length": 128, "generator": "uuid4"},
            "redaction": {"keys": [], "safe_keys": [], "detectors": {"ip": False}},
            "errors": {"map": {f"{__name__}.OutOfStockError": {"status": 409, "title": "Out of stock"}}},
            "defaults": {"timeout": None, "max_concurrency": None, "breaker": None},
            "routes": {
                "GET /reports/{id}": {
                    "timeout": 2.0, "max_concurrency": 8, "max_queue": 0, "max_wait": 0.5,
                    "breaker": {"failure_rate": 0.5, "minimum_calls": 20, "window": 30, "open_for": 10, "half_open_calls": 3},
                    "fallback": f"{__name__}.fallback_reports",
                },
                "/admin/*": {"timeout": 30},
            },
        }
    )  # fmt: skip
    routes = dict(settings.routes)
    report = routes["GET /reports/{id}"]
    assert report.timeout == 2.0
    assert report.max_concurrency == 8
    assert report.breaker is not None
    assert report.breaker.half_open_calls == 3
    assert report.fallback is fallback_reports
    assert routes["/admin/*"].timeout == 30
    assert settings.errors.map[OutOfStockError].status == 409


def test_routes_inherit_defaults_key_by_key() -> None:
    """A route overrides only the keys it names; breaker keys merge over the default breaker."""
    settings = Settings.from_mapping(
        {
            "defaults": {"timeout": 5, "breaker": {"minimum_calls": 50}},
            "routes": {"GET /a": {"breaker": {"failure_rate": 0.2}}, "GET /b": {"breaker": None}},
        }
    )
    routes = dict(settings.routes)
    assert routes["GET /a"].timeout == 5
    assert routes["GET /a"].breaker == BreakerSettings(minimum_calls=50, failure_rate=0.2)
    assert routes["GET /b"].breaker is None


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"routes": {"GET /x": {"breaker": {"failure_rate": 1.5}}}}, 'routes."GET /x".breaker.failure_rate', "at most 1"),
        ({"routes": {"GET /x": {"timeout": -1}}}, 'routes."GET /x".timeout', "greater than 0"),
        ({"routes": {"GET /x": {"timout": 1}}}, 'routes."GET /x".timout', "did you mean 'timeout'"),
        ({"corelation": {}}, "corelation", "did you mean 'correlation'"),
        ({"correlation": {"incoming": "maybe"}}, "correlation.incoming", "'accept'"),
        ({"correlation": {"max_length": 0}}, "correlation.max_length", "at least 1"),
        ({"correlation": {"header": "Bad Header"}}, "correlation.header", "not a valid header name"),
        ({"correlation": {"generator": "nowhere.gen"}}, "correlation.generator", "cannot import"),
        ({"errors": {"map": {"nowhere.Error": {"status": 409}}}}, 'errors.map."nowhere.Error"', "cannot import"),
        ({"errors": {"map": {"builtins.len": {"status": 409}}}}, 'errors.map."builtins.len"', "not an exception class"),
        ({"errors": {"map": {"builtins.KeyError": {"status": 200}}}}, 'errors.map."builtins.KeyError".status', "at least 400"),
        ({"redaction": {"detectors": {"emial": False}}}, "redaction.detectors.emial", "did you mean 'email'"),
        ({"redaction": {"patterns": {"order": "(unclosed"}}}, "redaction.patterns.order", "not a valid regular expression"),
        ({"redaction": {"placeholder": "hmac"}}, "redaction.hmac_key", "needs a secret"),
        ({"routes": {"FETCH /x": {}}}, 'routes."FETCH /x"', "unknown method"),
        ({"routes": {"GET /x/*/y": {}}}, 'routes."GET /x/*/y"', "'*'"),
        ({"routes": {"GET /x": {"max_concurrency": 0}}}, 'routes."GET /x".max_concurrency', "at least 1"),
        ({"routes": {"GET /x": {"max_queue": 5}}}, 'routes."GET /x".max_queue', "needs max_concurrency"),
        ({"routes": {"GET /x": {"fallback": "nowhere.fb"}}}, 'routes."GET /x".fallback', "cannot import"),
        ({"routes": {"GET /x": {"breaker": {"window_type": "sliding"}}}}, 'routes."GET /x".breaker.window_type', "'time'"),
        ({"routes": {"GET /x": {"timeout": True}}}, 'routes."GET /x".timeout', "expected a number"),
        ({"routes": []}, "routes", "expected a mapping"),
        ({"defaults": {"breaker": {"failure_statuses": [[500]]}}}, "defaults.breaker.failure_statuses", "expected HTTP statuses"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_key_and_value(data: dict[str, Any], path: str, words: str) -> None:
    """Each bad value fails at start-up with an error naming its key path and what is wrong."""
    err = error(data)
    assert err.path == path
    assert words in str(err)
    assert str(err).startswith(f"seawall setting {path}:")


def test_settings_are_frozen() -> None:
    """Parsed settings cannot be changed after start-up."""
    settings = Settings.from_mapping({})
    with pytest.raises(AttributeError):
        settings.correlation.max_length = 5  # type: ignore[misc]


def test_coerce_rejects_other_types() -> None:
    """Only a mapping, a Settings or None is accepted where settings are expected."""
    with pytest.raises(SettingsError, match="expected a mapping or Settings"):
        Settings.coerce(["not", "settings"])  # type: ignore[arg-type]


def test_response_header_none_means_the_first_incoming_header() -> None:
    """As the README documents: ``None`` (or unset) answers with the first header name."""
    settings = Settings.from_mapping(
        {"correlation": {"header": ["X-Trace", "X-Request-ID"], "response_header": None}}
    )
    assert settings.correlation.response_header == "X-Trace"
