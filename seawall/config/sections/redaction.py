"""The ``redaction`` section: extra and exempt keys, detector switches, patterns, bounds."""

from __future__ import annotations

import re
from collections.abc import Mapping

from seawall.config.parse import Parsed, Table, or_empty, report, show
from seawall.config.schema import PLACEHOLDERS, RedactionSettings, SettingsError

__all__ = ["parse_redaction"]

KEYS = (
    "keys", "safe_keys", "detectors", "patterns", "placeholder", "hmac_key",
    "card_last4", "max_field_length", "max_depth", "max_items", "frame_locals",
)  # fmt: skip
_PATTERN_NAME = re.compile(r"[a-z][a-z0-9_]*")


def parse_redaction(path: str, raw: object, earlier: Parsed) -> RedactionSettings:
    s = Table(path, raw, KEYS)
    default = RedactionSettings()
    detectors = _detectors(s)
    patterns = _patterns(s)
    placeholder = s.choice("placeholder", default.placeholder, PLACEHOLDERS)
    hmac_key = s.optional_string("hmac_key")
    if placeholder == "hmac" and not hmac_key:
        s.error("hmac_key", "placeholder 'hmac' needs a secret hmac_key")
    if hmac_key and placeholder != "hmac":
        s.error(
            "hmac_key",
            f"is set but placeholder is {placeholder!r}, so the key would never be used:"
            " set placeholder to 'hmac' or remove hmac_key",
            after=["placeholder"],
        )
    return RedactionSettings(
        keys=s.strings("keys"),
        safe_keys=s.strings("safe_keys"),
        detectors=detectors,
        patterns=patterns,
        placeholder=placeholder,
        hmac_key=hmac_key,
        card_last4=s.flag("card_last4", default.card_last4),
        max_field_length=s.integer("max_field_length", default.max_field_length, minimum=16),
        max_depth=s.integer("max_depth", default.max_depth, minimum=1, maximum=10_000),
        max_items=s.integer("max_items", default.max_items, minimum=1),
        frame_locals=s.flag("frame_locals", default.frame_locals),
    )


def _detectors(s: Table) -> dict[str, bool]:
    """``detectors``: on or off by name, the names being those of the detector catalogue."""
    raw = or_empty(s.get("detectors"))
    if isinstance(raw, Mapping) and not raw:
        return {}
    # The catalogue compiles its patterns on import: load it only for settings that name one.
    from seawall.observability.redaction.detectors import NAMES

    switches = s.section("detectors", NAMES)
    return {name: switches.flag(name) for name in switches.data}


def _patterns(s: Table) -> dict[str, str]:
    """``patterns``: name to regular expression of the application's own secrets."""
    raw = or_empty(s.get("patterns"))
    if not isinstance(raw, Mapping):
        s.error("patterns", f"expected a mapping of name to regex, got {show(raw)}")
        return {}
    patterns: dict[str, str] = {}
    for name, pattern in raw.items():
        path = f"{s.sub('patterns')}.{name}"
        if not isinstance(name, str) or not _PATTERN_NAME.fullmatch(name):
            report(SettingsError(path, "pattern names are lowercase words (a-z, 0-9, _)"))
        elif not isinstance(pattern, str) or not pattern:
            report(SettingsError(path, f"expected a regular expression, got {show(pattern)}"))
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                report(
                    SettingsError(path, f"{show(pattern)} is not a valid regular expression: {exc}")
                )
            else:
                patterns[name] = pattern
    return patterns
