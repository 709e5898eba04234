"""Seawall's settings: one schema, parsed and validated once, frozen afterwards.

Every feature reads its configuration from here. Input comes as a mapping (Django
``settings.SEAWALL``, Flask ``app.config["SEAWALL"]``), ``SEAWALL_*`` environment variables
for scalar overrides, or a TOML file. Anything unknown or out of range raises
:class:`SettingsError` naming the key path and the value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self, TypeVar

from seawall.config.parse import Parsed, Parser, Table, or_empty, report
from seawall.config.schema import (
    AdminSettings,
    AlertsSettings,
    AnalyticsSettings,
    CorrelationSettings,
    DeadLetterSettings,
    DependencySettings,
    ErrorsSettings,
    HealthSettings,
    LoggingSettings,
    MetricsSettings,
    PolicySettings,
    RedactionSettings,
    Routes,
    SettingsError,
    StateSettings,
)
from seawall.config.sections.admin import parse_admin
from seawall.config.sections.alerts import parse_alerts, parse_analytics
from seawall.config.sections.correlation import parse_correlation
from seawall.config.sections.dead_letter import parse_dead_letter
from seawall.config.sections.dependencies import parse_dependencies
from seawall.config.sections.errors import parse_errors
from seawall.config.sections.health import parse_health
from seawall.config.sections.logging import parse_logging
from seawall.config.sections.metrics import parse_metrics
from seawall.config.sections.policy import parse_defaults, parse_routes
from seawall.config.sections.redaction import parse_redaction
from seawall.config.sections.state import parse_state

__all__ = ["Settings", "SettingsError"]

T = TypeVar("T")
_PARSER = "seawall.parser"
_DEFAULT = "seawall.default"


def section(parse: Parser[T], default: Callable[[], T]) -> T:
    """A field of :class:`Settings`: the top-level key of its name, read by ``parse``."""
    return field(default_factory=default, metadata={_PARSER: parse, _DEFAULT: default})


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated, frozen settings; see :meth:`from_mapping`, :meth:`from_env`, :meth:`from_toml`.

    The fields are the table of sections: a new one is a dataclass, a parser and one field here.
    Sections are parsed in this order, so a section may build on one above it.
    """

    correlation: CorrelationSettings = section(parse_correlation, CorrelationSettings)
    redaction: RedactionSettings = section(parse_redaction, RedactionSettings)
    errors: ErrorsSettings = section(parse_errors, ErrorsSettings)
    logging: LoggingSettings = section(parse_logging, LoggingSettings)
    defaults: PolicySettings = section(parse_defaults, PolicySettings)
    routes: Routes = section(parse_routes, tuple)
    dependencies: tuple[DependencySettings, ...] = section(parse_dependencies, tuple)
    state: StateSettings = section(parse_state, StateSettings)
    admin: AdminSettings = section(parse_admin, AdminSettings)
    metrics: MetricsSettings = section(parse_metrics, MetricsSettings)
    health: HealthSettings = section(parse_health, HealthSettings)
    analytics: AnalyticsSettings = section(parse_analytics, AnalyticsSettings)
    alerts: AlertsSettings = section(parse_alerts, AlertsSettings)
    dead_letter: DeadLetterSettings = section(parse_dead_letter, DeadLetterSettings)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None = None) -> Self:
        """Parse the settings contract; raise :class:`SettingsError` on bad input."""
        sections = fields(cls)
        root = Table("", dict(data or {}), [f.name for f in sections])
        parsed = Parsed()
        for f in sections:
            parse = f.metadata[_PARSER]
            try:
                value = parse(root.sub(f.name), or_empty(root.get(f.name)), parsed)
            except SettingsError as exc:
                report(exc)  # while collecting, its defaults stand in for the sections after it
                value = f.metadata[_DEFAULT]()
            parsed.values[f.name] = value
        return cls(**parsed.values)

    @classmethod
    def from_env(
        cls, base: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Self:
        """``base`` with ``SEAWALL_SECTION__KEY=value`` scalar overrides from the environment."""
        from seawall.config.sources import merge_env  # sources build on Settings

        return cls.from_mapping(merge_env(base or {}, os.environ if environ is None else environ))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Self:
        """Read ``[tool.seawall]`` (pyproject style) or the whole file as the settings mapping."""
        from seawall.config.sources import read_toml  # sources build on Settings

        return cls.from_mapping(read_toml(path))

    @classmethod
    def coerce(cls, value: Settings | Mapping[str, Any] | None) -> Settings:
        """Accept a ``Settings``, a mapping or ``None`` (defaults)."""
        if isinstance(value, Settings):
            return value
        if value is None or isinstance(value, Mapping):
            return cls.from_mapping(value)
        raise SettingsError("(root)", f"expected a mapping or Settings, got {type(value).__name__}")
