"""Settings sources: the environment overlay, TOML files, and the frameworks' configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.config.settings import Settings, SettingsError
from seawall.config.sources import framework_settings


def test_env_overrides_scalars() -> None:
    """``SEAWALL_SECTION__KEY`` overrides one scalar, parsed as JSON when it can be."""
    base = {"correlation": {"header": "X-Request-ID"}}
    settings = Settings.from_env(
        base,
        environ={
            "SEAWALL_CORRELATION__HEADER": "X-Correlation-ID",
            "SEAWALL_CORRELATION__MAX_LENGTH": "64",
            "SEAWALL_ERRORS__DEBUG": "true",
            "OTHER": "ignored",
        },
    )
    assert settings.correlation.headers == ("X-Correlation-ID",)
    assert settings.correlation.max_length == 64
    assert settings.errors.debug is True
    assert base == {"correlation": {"header": "X-Request-ID"}}


def test_env_errors_name_the_setting() -> None:
    """A bad environment value is reported by its setting path."""
    with pytest.raises(SettingsError, match=r"correlation\.max_length"):
        Settings.from_env({}, environ={"SEAWALL_CORRELATION__MAX_LENGTH": "many"})


def test_toml_file_and_pyproject_table(tmp_path: Path) -> None:
    """A TOML file is read whole, or from its ``[tool.seawall]`` table."""
    plain = tmp_path / "seawall.toml"
    plain.write_text('[correlation]\nincoming = "reject"\n[routes."GET /x"]\ntimeout = 1.5\n')
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.seawall.correlation]\nincoming = "ignore"\n')
    assert Settings.from_toml(plain).correlation.incoming == "reject"
    assert dict(Settings.from_toml(plain).routes)["GET /x"].timeout == 1.5
    assert Settings.from_toml(pyproject).correlation.incoming == "ignore"


def test_env_overlay_into_a_section_that_is_not_a_mapping_names_it() -> None:
    """An override cannot go inside a section set to a scalar: the error names that section."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"errors": "verbose"}, environ={"SEAWALL_ERRORS__DEBUG": "true"})
    assert info.value.path == "errors"
    assert "'verbose'" in str(info.value)
    unset = Settings.from_env({"errors": None}, environ={"SEAWALL_ERRORS__DEBUG": "true"})
    assert unset.errors.debug is True


@pytest.mark.parametrize(
    ("raw", "debug", "expected"),
    [(None, True, True), ({}, True, True), ({"errors": None}, True, True), ({}, False, False)],
)
def test_framework_debug_flag_turns_on_debug_details(
    raw: dict[str, object] | None, debug: bool, expected: bool
) -> None:
    """With no ``errors.debug`` in the settings, the framework's debug flag decides."""
    assert framework_settings(raw, debug=debug).errors.debug is expected


@pytest.mark.parametrize("value", [True, False])
def test_errors_debug_in_the_settings_wins_over_the_framework_flag(value: bool) -> None:
    """An explicit ``errors.debug`` is kept whatever the framework's flag says."""
    settings = framework_settings({"errors": {"debug": value, "format": "json"}}, debug=not value)
    assert settings.errors.debug is value
    assert settings.errors.format == "json"


def test_config_keys_override_the_settings_and_the_debug_flag() -> None:
    """``SEAWALL_*`` config keys set one value each, over the mapping and the debug flag."""
    config = {"SEAWALL_ERRORS__DEBUG": False, "SEAWALL_CORRELATION__MAX_LENGTH": 64, "DEBUG": True}
    settings = framework_settings({"errors": {"debug": True}}, debug=True, config=config)
    assert settings.errors.debug is False
    assert settings.correlation.max_length == 64


def test_config_values_are_taken_as_given() -> None:
    """Config values are Python values already: a string is not decoded as JSON."""
    with pytest.raises(SettingsError) as info:
        framework_settings({}, debug=False, config={"SEAWALL_CORRELATION__MAX_LENGTH": "64"})
    assert info.value.path == "correlation.max_length"


def test_a_settings_object_is_used_as_given() -> None:
    """Given a ``Settings``, adapters use it: no overlay, no debug defaulting."""
    given = Settings.from_mapping({"correlation": {"max_length": 7}})
    assert framework_settings(given, debug=True, config={"SEAWALL_ERRORS__DEBUG": True}) is given


def test_framework_settings_never_write_into_the_users_mapping() -> None:
    """The user's nested mappings are copied before the overlay and the debug default."""
    raw = {"errors": {"format": "json"}, "correlation": {"max_length": 7}}
    framework_settings(raw, debug=True, config={"SEAWALL_CORRELATION__MAX_LENGTH": 9})
    assert raw == {"errors": {"format": "json"}, "correlation": {"max_length": 7}}


def test_framework_settings_reject_what_is_not_a_mapping() -> None:
    """Settings that are neither a mapping nor a ``Settings`` fail naming the root."""
    with pytest.raises(SettingsError) as info:
        framework_settings(["routes"], debug=True)  # type: ignore[arg-type]
    assert info.value.path == "(root)"


def test_environment_names_without_a_section_are_not_settings() -> None:
    """``SEAWALL_REQUIRE_SERVICES`` (the test suite's own switch) names no section: passed over."""
    settings = Settings.from_env(
        {}, {"SEAWALL_REQUIRE_SERVICES": "1", "SEAWALL_EXPECT_COMPILED": "1"}
    )
    assert settings == Settings.from_mapping({})


@pytest.mark.parametrize("name", ["SEAWALL_ROUTES", "SEAWALL_correlation", "SEAWALL_DEFAULTS"])
def test_a_name_that_names_a_section_only_is_refused(name: str) -> None:
    """``app.config["SEAWALL_ROUTES"] = {...}`` or ``SEAWALL_ROUTES=...`` would be ignored:
    a SettingsError names it, from a framework's config and from the environment."""
    with pytest.raises(SettingsError) as info:
        framework_settings({}, debug=False, config={name: {"GET /x": {"timeout": 1}}})
    assert info.value.path == name
    with pytest.raises(SettingsError):
        Settings.from_env({}, {name: "{}"})
