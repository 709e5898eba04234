"""Settings sources: the environment overlay and TOML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.config.settings import Settings, SettingsError


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
