"""The ``analytics`` and ``alerts`` sections: bounded error groups, and who is told what.

Sinks are a list of tables, each with a ``type``; rules are on/off flags except
``error_spike`` (``false`` or a table of ``window``, ``min_count`` and ``factor``),
``retry_budget_exhausted`` (a flag or a table of ``cooldown``) and ``dead_letter_depth``
(``false`` or a table of ``max``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from seawall.config.parse import Parsed, Table, report, show
from seawall.config.schema import (
    SINK_TYPES,
    AlertRules,
    AlertSink,
    AlertsSettings,
    AnalyticsSettings,
    SettingsError,
    SpikeRule,
)

__all__ = ["parse_alerts", "parse_analytics"]

ANALYTICS_KEYS = ("enabled", "max_fingerprints")
ALERTS_KEYS = ("sinks", "rules", "cooldown", "queue_size", "timeout", "retries")
RULE_KEYS = (
    "new_error", "error_spike", "breaker_open", "recovery_exhausted",
    "retry_budget_exhausted", "readiness_failed", "dead_letter_depth",
)  # fmt: skip
SPIKE_KEYS = ("window", "min_count", "factor")
BUDGET_RULE_KEYS = ("cooldown",)
DEPTH_KEYS = ("max",)
SINK_KEYS = {
    "webhook": ("type", "url", "secret"),
    "slack": ("type", "url"),
    "alertmanager": ("type", "url", "generator_url"),
    "log": ("type",),
}


def parse_analytics(path: str, raw: object, earlier: Parsed) -> AnalyticsSettings:
    s = Table(path, raw, ANALYTICS_KEYS)
    default = AnalyticsSettings()
    return AnalyticsSettings(
        enabled=s.flag("enabled", default.enabled),
        max_fingerprints=s.integer(
            "max_fingerprints", default.max_fingerprints, minimum=1, maximum=1_000_000
        ),
    )


def parse_alerts(path: str, raw: object, earlier: Parsed) -> AlertsSettings:
    s = Table(path, raw, ALERTS_KEYS)
    default = AlertsSettings()
    return AlertsSettings(
        sinks=_sinks(s.sub("sinks"), s.get("sinks", ())),
        rules=_rules(s.section("rules", RULE_KEYS)),
        cooldown=s.number("cooldown", default.cooldown, minimum=0),
        queue_size=s.integer("queue_size", default.queue_size, minimum=1, maximum=1_000_000),
        timeout=s.number("timeout", default.timeout, minimum=0, exclusive_min=True, maximum=300),
        retries=s.integer("retries", default.retries, minimum=0, maximum=20),
    )


def _rules(s: Table) -> AlertRules:
    default = AlertRules()
    spike_raw = s.get("error_spike", True)
    spike: SpikeRule | None
    if spike_raw is False:
        spike = None
    elif spike_raw is True:
        spike = SpikeRule()
    else:
        t = s.section("error_spike", SPIKE_KEYS)
        base = SpikeRule()
        spike = SpikeRule(
            window=t.integer("window", base.window, minimum=1, maximum=86_400),
            min_count=t.integer("min_count", base.min_count, minimum=1),
            factor=t.number("factor", base.factor, minimum=1.0),
        )
    budget_on, budget_cooldown = _budget_rule(s, default)
    return AlertRules(
        new_error=s.flag("new_error", default.new_error),
        error_spike=spike,
        breaker_open=s.flag("breaker_open", default.breaker_open),
        recovery_exhausted=s.flag("recovery_exhausted", default.recovery_exhausted),
        retry_budget_exhausted=budget_on,
        readiness_failed=s.flag("readiness_failed", default.readiness_failed),
        retry_budget_cooldown=budget_cooldown,
        dead_letter_depth=_depth_rule(s, default),
    )


def _budget_rule(s: Table, default: AlertRules) -> tuple[bool, float]:
    """``retry_budget_exhausted``: a flag, or a table of its incident ``cooldown``."""
    raw = s.get("retry_budget_exhausted", default.retry_budget_exhausted)
    if isinstance(raw, bool):
        return raw, default.retry_budget_cooldown
    t = s.section("retry_budget_exhausted", BUDGET_RULE_KEYS)
    return True, t.number("cooldown", default.retry_budget_cooldown, minimum=0, maximum=86_400)


def _depth_rule(s: Table, default: AlertRules) -> int | None:
    """``dead_letter_depth``: ``false`` (off), ``true`` (the default ``max``) or ``{max: N}``."""
    raw = s.get("dead_letter_depth", True)
    if raw is False or raw is None:
        return None
    if raw is True:
        return default.dead_letter_depth
    t = s.section("dead_letter_depth", DEPTH_KEYS)
    return t.integer("max", default.dead_letter_depth or 100, minimum=0)


def _sinks(path: str, raw: object) -> tuple[AlertSink, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        report(SettingsError(path, f"expected a list of sink tables, got {show(raw)}"))
        return ()
    sinks: list[AlertSink] = []
    for i, item in enumerate(raw):
        try:
            sinks.append(_sink(f"{path}[{i}]", item))
        except SettingsError as exc:
            report(exc)  # while collecting, the next sink is still read
    return tuple(sinks)


def _sink(path: str, raw: object) -> AlertSink:
    if not isinstance(raw, Mapping):
        raise SettingsError(path, f"expected a table with a 'type', got {show(raw)}")
    kind = next((k for k in SINK_TYPES if raw.get("type") == k), None)
    if kind is None:
        # The type says which keys the sink may have: without it, the rest cannot be read.
        raise SettingsError(
            f"{path}.type",
            f"{show(raw.get('type'))} is not one of {', '.join(map(repr, SINK_TYPES))}",
        )
    s = Table(path, raw, SINK_KEYS[kind])
    if kind == "log":
        return AlertSink(kind)
    url = s.string("url", "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        s.error("url", f"expected an http(s) URL, got {show(url)}")
    return AlertSink(
        kind,
        url=url.rstrip("/") if kind == "alertmanager" else url,
        secret=s.optional_string("secret") if kind == "webhook" else None,
        generator_url=s.optional_string("generator_url") if kind == "alertmanager" else None,
    )
