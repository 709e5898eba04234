"""The ``health`` section: the probes' path, the readiness checks and how long results last."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from seawall.config.parse import Parsed, Table, or_empty, report, show
from seawall.config.schema import DETAILS, AdminSettings, HealthSettings, SettingsError
from seawall.config.sections.admin import endpoint_path

__all__ = ["parse_health"]

KEYS = ("path", "checks", "timeout", "cache_for", "failure_cache_for", "details")


def parse_health(path: str, raw: object, earlier: Parsed) -> HealthSettings:
    s = Table(path, raw, KEYS)
    default = HealthSettings()
    where = None if s.has("path") and s.get("path") is None else endpoint_path(s, "path", "/health")
    details = s.choice("details", default.details, DETAILS)
    if details == "token" and earlier.get("admin", AdminSettings).token is None:
        report(
            SettingsError(
                s.sub("details"),
                "'token' shows details to callers with the admin token, and admin.token is not"
                " set (set it, or SEAWALL_ADMIN__TOKEN)",
            ),
            after=["admin", "admin.token"],
        )
    return HealthSettings(
        path=where,
        checks=_checks(s),
        timeout=s.number("timeout", default.timeout, minimum=0, exclusive_min=True),
        cache_for=s.number("cache_for", default.cache_for, minimum=0),
        failure_cache_for=s.number("failure_cache_for", default.failure_cache_for, minimum=0),
        details=details,
    )


def _checks(s: Table) -> tuple[tuple[str, Callable[[], Any]], ...]:
    """``checks``: component name to a callable (sync or async) or its dotted path."""
    raw = or_empty(s.get("checks"))
    if not isinstance(raw, Mapping):
        s.error("checks", f"expected a mapping of name to check, got {show(raw)}")
        return ()
    table = Table(s.sub("checks"), raw, [k for k in raw if isinstance(k, str) and k])
    checks: list[tuple[str, Callable[[], Any]]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not name:
            continue  # reported as an unknown key by the table
        found = table.importable(name, value, want="health check")
        if not callable(found):
            table.error(name, f"{show(value)} is not callable")
            continue
        checks.append((name, found))
    return tuple(checks)
