"""The ``logging`` section: the output format and the level of seawall's own events."""

from __future__ import annotations

from seawall.config.parse import Parsed, Table
from seawall.config.schema import LOG_FORMATS, LOG_LEVELS, LoggingSettings

__all__ = ["parse_logging"]

KEYS = ("format", "level")


def parse_logging(path: str, raw: object, earlier: Parsed) -> LoggingSettings:
    s = Table(path, raw, KEYS)
    default = LoggingSettings()
    level = s.choice("level", default.level, LOG_LEVELS)
    return LoggingSettings(format=s.choice("format", default.format, LOG_FORMATS), level=level)
