"""Seawall's settings: one schema, parsed and validated once, frozen afterwards.

Every feature reads its configuration from here. Input comes as a mapping (Django
``settings.SEAWALL``, Flask ``app.config["SEAWALL"]``), ``SEAWALL_*`` environment variables
for scalar overrides, or a TOML file. Anything unknown or out of range raises
:class:`SettingsError` naming the key path and the value.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

__all__ = [
    "BreakerSettings",
    "CorrelationSettings",
    "ErrorMapping",
    "ErrorsSettings",
    "LoggingSettings",
    "PolicySettings",
    "RedactionSettings",
    "Settings",
    "SettingsError",
    "import_string",
]

T = TypeVar("T")
Incoming = Literal["accept", "reject", "ignore"]

CLASSIFICATIONS: tuple[str, ...] = (
    "transient", "permanent", "rate_limited", "authentication", "authorization",
    "validation", "not_found", "unknown",
)  # fmt: skip


class SettingsError(ValueError):
    """A setting is unknown, of the wrong type or out of range; ``path`` names it."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"seawall setting {path}: {message}")


@dataclass(frozen=True, slots=True)
class CorrelationSettings:
    headers: tuple[str, ...] = ("X-Request-ID",)
    response_header: str = "X-Request-ID"
    incoming: Incoming = "accept"
    max_length: int = 128
    generator: Callable[[], str] | None = None  # None: uuid4 hex, resolved in correlation.py
    generator_name: str = "uuid4"
    traceparent: bool = False


@dataclass(frozen=True, slots=True)
class RedactionSettings:
    keys: tuple[str, ...] = ()
    safe_keys: tuple[str, ...] = ()
    detectors: Mapping[str, bool] = field(default_factory=dict)
    patterns: Mapping[str, str] = field(default_factory=dict)
    placeholder: Literal["label", "hmac"] = "label"
    hmac_key: str | None = None
    card_last4: bool = False
    max_field_length: int = 8192
    max_depth: int = 32
    max_items: int = 1000
    frame_locals: bool = False

    def detector_enabled(self, name: str) -> bool:
        """Detectors are on by default, except ``ip``."""
        return self.detectors.get(name, name != "ip")


@dataclass(frozen=True, slots=True)
class ErrorMapping:
    status: int
    title: str | None = None
    type: str = "about:blank"
    detail: str | None = None
    classification: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ErrorsSettings:
    map: Mapping[type[BaseException], ErrorMapping] = field(default_factory=dict)
    debug: bool = False
    format: Literal["auto", "json"] = "auto"
    log_client_errors: bool = False
    traceback_frames: int = 30


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    format: Literal["auto", "json", "console"] = "auto"
    level: str = "INFO"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failure_rate: float = 0.5
    minimum_calls: int = 20
    window_type: Literal["time", "count"] = "time"
    window: int = 30
    open_for: float = 10.0
    max_open_for: float = 300.0
    jitter: float = 0.1
    half_open_calls: int = 3
    consecutive_failures: int | None = None
    slow_call_duration: float | None = None
    slow_call_rate: float = 1.0
    failure_statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    mode: Literal["enforce", "metrics_only", "disabled"] = "enforce"


@dataclass(frozen=True, slots=True)
class PolicySettings:
    timeout: float | None = None
    timeout_mode: Literal["deadline", "thread"] = "deadline"
    max_concurrency: int | None = None
    max_queue: int = 0
    max_wait: float = 0.0
    breaker: BreakerSettings | None = None
    fallback: Callable[..., Any] | None = None
    stale_if_error: float | None = None

    @property
    def is_empty(self) -> bool:
        """True when this policy adds nothing to a request (fast path)."""
        return (
            self.timeout is None
            and self.max_concurrency is None
            and self.breaker is None
            and self.fallback is None
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated, frozen settings; see :meth:`from_mapping`, :meth:`from_env`, :meth:`from_toml`."""

    correlation: CorrelationSettings = field(default_factory=CorrelationSettings)
    redaction: RedactionSettings = field(default_factory=RedactionSettings)
    errors: ErrorsSettings = field(default_factory=ErrorsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    defaults: PolicySettings = field(default_factory=PolicySettings)
    routes: tuple[tuple[str, PolicySettings], ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None = None) -> Settings:
        """Parse the settings contract; raise :class:`SettingsError` on bad input."""
        return _parse_settings(dict(data or {}))

    @classmethod
    def from_env(
        cls, base: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """``base`` with ``SEAWALL_SECTION__KEY=value`` scalar overrides from the environment."""
        return cls.from_mapping(merge_env(base or {}, os.environ if environ is None else environ))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Settings:
        """Read ``[tool.seawall]`` (pyproject style) or the whole file as the settings mapping."""
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
        table = data.get("tool", {}).get("seawall", data)
        return cls.from_mapping(table)

    @classmethod
    def coerce(cls, value: Settings | Mapping[str, Any] | None) -> Settings:
        """Accept a ``Settings``, a mapping or ``None`` (defaults)."""
        if isinstance(value, Settings):
            return value
        if value is None or isinstance(value, Mapping):
            return cls.from_mapping(value)
        raise SettingsError("(root)", f"expected a mapping or Settings, got {type(value).__name__}")


def import_string(dotted: str) -> Any:
    """Import ``package.module.attr`` (or ``package.module:attr``) and return the attribute."""
    module_name, sep, attr = dotted.replace(":", ".").rpartition(".")
    if not sep or not module_name:
        raise ImportError(f"{dotted!r} is not a dotted path")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from None


def merge_env(base: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``SEAWALL_A__B=value`` onto ``base["a"]["b"]``; values parse as JSON if they can."""
    merged = _copy_tree(base)
    for name, raw in environ.items():
        if not name.startswith("SEAWALL_"):
            continue
        path = [part.lower() for part in name[len("SEAWALL_") :].split("__") if part]
        if not path:
            continue
        target = merged
        for part in path[:-1]:
            existing = target.get(part)
            target[part] = dict(existing) if isinstance(existing, Mapping) else {}
            target = target[part]
        target[path[-1]] = _parse_env_value(raw)
    return merged


def _copy_tree(data: Mapping[str, Any]) -> dict[str, Any]:
    """Copy nested mappings so overrides never write into the caller's settings."""
    return {k: (_copy_tree(v) if isinstance(v, Mapping) else v) for k, v in data.items()}


def _parse_env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# ---------------------------------------------------------------------------------------------
# Parsing helpers: each takes the key path for its error messages.


class _Section:
    """Reads one mapping, remembers which keys were used, and rejects the rest."""

    def __init__(self, path: str, data: Any, allowed: Iterable[str]) -> None:
        if not isinstance(data, Mapping):
            raise SettingsError(path or "(root)", f"expected a mapping, got {_show(data)}")
        self.path = path
        self.data = data
        allowed = tuple(allowed)
        for key in data:
            if not isinstance(key, str) or key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                raise SettingsError(
                    self.sub(str(key)),
                    f"unknown key {key!r}{suggestion} (known: {', '.join(allowed)})",
                )

    def sub(self, key: str) -> str:
        shown = key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key)
        return f"{self.path}.{shown}" if self.path else shown

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise SettingsError(self.sub(key), f"expected true or false, got {_show(value)}")
        return value

    def number(
        self,
        key: str,
        default: float | None,
        *,
        minimum: float | None = None,
        exclusive_min: bool = False,
        maximum: float | None = None,
        optional: bool = False,
    ) -> float | None:
        value = self.data.get(key, default)
        if value is None and (optional or default is None):
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise SettingsError(self.sub(key), f"expected a number, got {_show(value)}")
        if minimum is not None and (value < minimum or (exclusive_min and value == minimum)):
            bound = f"greater than {minimum}" if exclusive_min else f"at least {minimum}"
            raise SettingsError(self.sub(key), f"{_show(value)} is out of range: must be {bound}")
        if maximum is not None and value > maximum:
            raise SettingsError(
                self.sub(key), f"{_show(value)} is out of range: must be at most {maximum}"
            )
        return float(value)

    def integer(
        self,
        key: str,
        default: int | None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        optional: bool = False,
    ) -> int | None:
        value = self.data.get(key, default)
        if value is None and (optional or default is None):
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(self.sub(key), f"expected a whole number, got {_show(value)}")
        if minimum is not None and value < minimum:
            raise SettingsError(
                self.sub(key), f"{_show(value)} is out of range: must be at least {minimum}"
            )
        if maximum is not None and value > maximum:
            raise SettingsError(
                self.sub(key), f"{_show(value)} is out of range: must be at most {maximum}"
            )
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.data.get(key, default)
        if value not in choices:
            raise SettingsError(
                self.sub(key), f"{_show(value)} is not one of {', '.join(map(repr, choices))}"
            )
        return str(value)

    def string(self, key: str, default: str | None, *, optional: bool = False) -> str | None:
        value = self.data.get(key, default)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise SettingsError(self.sub(key), f"expected a non-empty string, got {_show(value)}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, ())
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise SettingsError(self.sub(key), f"expected a list of strings, got {_show(value)}")
        items = tuple(value)
        for item in items:
            if not isinstance(item, str) or not item:
                raise SettingsError(self.sub(key), f"expected non-empty strings, got {_show(item)}")
        return items

    def section(self, key: str, allowed: Iterable[str]) -> _Section:
        return _Section(self.sub(key), _or_empty(self.data.get(key)), allowed)

    def importable(self, key: str, value: Any, *, want: str) -> Any:
        """Resolve a dotted path (or accept the object itself) at start-up."""
        if not isinstance(value, str):
            return value
        try:
            return import_string(value)
        except ImportError as exc:
            raise SettingsError(self.sub(key), f"cannot import {want} {value!r}: {exc}") from None


def _or_empty(value: Any) -> Any:
    """``None`` (an unset or empty TOML/YAML section) means an empty mapping; other values stay."""
    return {} if value is None else value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _parse_correlation(root: _Section) -> CorrelationSettings:
    s = root.section(
        "correlation",
        ("header", "response_header", "incoming", "max_length", "generator", "traceparent"),
    )
    raw_headers = s.get("header", "X-Request-ID")
    headers = (raw_headers,) if isinstance(raw_headers, str) else s.strings("header")
    if not headers:
        raise SettingsError(s.sub("header"), "name at least one header")
    for name in headers:
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise SettingsError(s.sub("header"), f"{_show(name)} is not a valid header name")
    response_header = s.string("response_header", headers[0])
    assert response_header is not None
    if not _HEADER_NAME.fullmatch(response_header):
        raise SettingsError(
            s.sub("response_header"), f"{_show(response_header)} is not a valid header name"
        )
    max_length = s.integer("max_length", 128, minimum=1, maximum=1024)
    assert max_length is not None
    generator_value = s.get("generator", "uuid4")
    generator: Callable[[], str] | None = None
    generator_name = "custom"
    if generator_value in ("uuid4", "uuid7"):
        generator_name = generator_value
    elif isinstance(generator_value, str) or callable(generator_value):
        generator = s.importable("generator", generator_value, want="generator")
        if not callable(generator):
            raise SettingsError(s.sub("generator"), f"{_show(generator_value)} is not callable")
        generator_name = generator_value if isinstance(generator_value, str) else "custom"
    else:
        raise SettingsError(
            s.sub("generator"),
            f"expected 'uuid4', 'uuid7' or a dotted path, got {_show(generator_value)}",
        )
    incoming = s.choice("incoming", "accept", ("accept", "reject", "ignore"))
    return CorrelationSettings(
        headers=tuple(headers),
        response_header=response_header,
        incoming=incoming,  # type: ignore[arg-type]
        max_length=max_length,
        generator=generator,
        generator_name=generator_name,
        traceparent=s.flag("traceparent", False),
    )


def _parse_redaction(root: _Section) -> RedactionSettings:
    s = root.section(
        "redaction",
        (
            "keys", "safe_keys", "detectors", "patterns", "placeholder", "hmac_key",
            "card_last4", "max_field_length", "max_depth", "max_items", "frame_locals",
        ),
    )  # fmt: skip
    detectors = _detector_switches(s)
    patterns_raw = _or_empty(s.get("patterns"))
    if not isinstance(patterns_raw, Mapping):
        raise SettingsError(
            s.sub("patterns"), f"expected a mapping of name to regex, got {_show(patterns_raw)}"
        )
    patterns: dict[str, str] = {}
    for name, pattern in patterns_raw.items():
        path = f"{s.sub('patterns')}.{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise SettingsError(path, "pattern names are lowercase words (a-z, 0-9, _)")
        if not isinstance(pattern, str) or not pattern:
            raise SettingsError(path, f"expected a regular expression, got {_show(pattern)}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SettingsError(
                path, f"{_show(pattern)} is not a valid regular expression: {exc}"
            ) from None
        patterns[name] = pattern
    placeholder = s.choice("placeholder", "label", ("label", "hmac"))
    hmac_key = s.string("hmac_key", None, optional=True)
    if placeholder == "hmac" and not hmac_key:
        raise SettingsError(s.sub("hmac_key"), "placeholder 'hmac' needs a secret hmac_key")
    return RedactionSettings(
        keys=s.strings("keys"),
        safe_keys=s.strings("safe_keys"),
        detectors=detectors,
        patterns=patterns,
        placeholder=placeholder,  # type: ignore[arg-type]
        hmac_key=hmac_key,
        card_last4=s.flag("card_last4", False),
        max_field_length=s.integer("max_field_length", 8192, minimum=16) or 8192,
        max_depth=s.integer("max_depth", 32, minimum=1, maximum=10_000) or 32,
        max_items=s.integer("max_items", 1000, minimum=1) or 1000,
        frame_locals=s.flag("frame_locals", False),
    )


def _detector_switches(s: _Section) -> dict[str, bool]:
    """``detectors``: on or off by name, the names being those of the detector catalogue."""
    raw = _or_empty(s.get("detectors"))
    if isinstance(raw, Mapping) and not raw:
        return {}
    # The catalogue compiles its patterns on import: load it only for settings that name one.
    from seawall.observability.redaction.detectors import NAMES

    switches = s.section("detectors", NAMES)
    return {name: switches.flag(name, True) for name in switches.data}


def _parse_error_mapping(s: _Section) -> ErrorMapping:
    status = s.integer("status", None, minimum=400, maximum=599)
    if status is None:
        raise SettingsError(s.sub("status"), "is required (an HTTP status from 400 to 599)")
    classification = s.get("classification")
    if classification is not None and classification not in CLASSIFICATIONS:
        raise SettingsError(
            s.sub("classification"),
            f"{_show(classification)} is not one of {', '.join(CLASSIFICATIONS)}",
        )
    headers_raw = _or_empty(s.get("headers"))
    if not isinstance(headers_raw, Mapping) or not all(
        isinstance(k, str) and _HEADER_NAME.fullmatch(k) and isinstance(v, str)
        for k, v in headers_raw.items()
    ):
        raise SettingsError(
            s.sub("headers"), f"expected header names to strings, got {_show(headers_raw)}"
        )
    return ErrorMapping(
        status=status,
        title=s.string("title", None, optional=True),
        type=s.string("type", "about:blank") or "about:blank",
        detail=s.string("detail", None, optional=True),
        classification=classification,
        headers=dict(headers_raw),
    )


def _parse_errors(root: _Section) -> ErrorsSettings:
    s = root.section("errors", ("map", "debug", "format", "log_client_errors", "traceback_frames"))
    map_raw = _or_empty(s.get("map"))
    if not isinstance(map_raw, Mapping):
        raise SettingsError(s.sub("map"), f"expected a mapping, got {_show(map_raw)}")
    mapping: dict[type[BaseException], ErrorMapping] = {}
    map_section = _Section(s.sub("map"), map_raw, [k for k in map_raw if isinstance(k, str)])
    for key, spec in map_raw.items():
        exc_type = map_section.importable(key, key, want="exception class")
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise SettingsError(map_section.sub(key), f"{_show(key)} is not an exception class")
        spec_section = _Section(
            map_section.sub(key),
            spec,
            ("status", "title", "type", "detail", "classification", "headers"),
        )
        mapping[exc_type] = _parse_error_mapping(spec_section)
    frames = s.integer("traceback_frames", 30, minimum=0, maximum=500)
    return ErrorsSettings(
        map=mapping,
        debug=s.flag("debug", False),
        format=s.choice("format", "auto", ("auto", "json")),  # type: ignore[arg-type]
        log_client_errors=s.flag("log_client_errors", False),
        traceback_frames=30 if frames is None else frames,
    )


def _parse_logging(root: _Section) -> LoggingSettings:
    s = root.section("logging", ("format", "level"))
    level = s.choice("level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    return LoggingSettings(
        format=s.choice("format", "auto", ("auto", "json", "console")),  # type: ignore[arg-type]
        level=level,
    )


_BREAKER_KEYS = tuple(f.name for f in dataclasses.fields(BreakerSettings))
_POLICY_KEYS = (
    "timeout", "timeout_mode", "max_concurrency", "max_queue", "max_wait", "breaker",
    "fallback", "stale_if_error",
)  # fmt: skip


def parse_breaker(path: str, data: Any, base: BreakerSettings | None = None) -> BreakerSettings:
    """Validate a breaker mapping, filling unset keys from ``base`` (or the built-in defaults)."""
    s = _Section(path, data, _BREAKER_KEYS)
    b = base or BreakerSettings()
    statuses_raw = s.get("failure_statuses", sorted(b.failure_statuses))
    if isinstance(statuses_raw, str | bytes) or not isinstance(statuses_raw, Iterable):
        raise SettingsError(
            s.sub("failure_statuses"), f"expected a list of statuses, got {_show(statuses_raw)}"
        )
    statuses = frozenset(statuses_raw)
    if not all(
        isinstance(x, int) and not isinstance(x, bool) and 100 <= x <= 599 for x in statuses
    ):
        raise SettingsError(
            s.sub("failure_statuses"), f"expected HTTP statuses, got {_show(statuses_raw)}"
        )
    window_type = s.choice("window_type", b.window_type, ("time", "count"))
    window = s.integer("window", b.window, minimum=1, maximum=100_000)
    open_for = s.number("open_for", b.open_for, minimum=0, exclusive_min=True)
    max_open_for = s.number(
        "max_open_for", max(b.max_open_for, open_for or 0), minimum=0, exclusive_min=True
    )
    assert window is not None
    assert open_for is not None
    assert max_open_for is not None
    if max_open_for < open_for:
        raise SettingsError(
            s.sub("max_open_for"), f"{max_open_for} is less than open_for ({open_for})"
        )
    rate = functools.partial(s.number, minimum=0, exclusive_min=True, maximum=1)
    failure_rate = rate("failure_rate", b.failure_rate)
    slow_call_rate = rate("slow_call_rate", b.slow_call_rate)
    minimum_calls = s.integer("minimum_calls", b.minimum_calls, minimum=1)
    half_open_calls = s.integer("half_open_calls", b.half_open_calls, minimum=1)
    jitter = s.number("jitter", b.jitter, minimum=0, maximum=1)
    assert failure_rate is not None
    assert slow_call_rate is not None
    assert minimum_calls is not None
    assert half_open_calls is not None
    assert jitter is not None
    return BreakerSettings(
        failure_rate=failure_rate,
        minimum_calls=minimum_calls,
        window_type=window_type,  # type: ignore[arg-type]
        window=window,
        open_for=open_for,
        max_open_for=max_open_for,
        jitter=jitter,
        half_open_calls=half_open_calls,
        consecutive_failures=s.integer(
            "consecutive_failures", b.consecutive_failures, minimum=1, optional=True
        ),
        slow_call_duration=s.number(
            "slow_call_duration", b.slow_call_duration, minimum=0, exclusive_min=True, optional=True
        ),
        slow_call_rate=slow_call_rate,
        failure_statuses=statuses,
        mode=s.choice("mode", b.mode, ("enforce", "metrics_only", "disabled")),  # type: ignore[arg-type]
    )


def parse_policy(path: str, data: Any, base: PolicySettings | None = None) -> PolicySettings:
    """Validate a per-route policy mapping; unset keys inherit from ``base`` (the defaults)."""
    s = _Section(path, data, _POLICY_KEYS)
    b = base or PolicySettings()
    breaker: BreakerSettings | None = b.breaker
    if s.has("breaker"):
        raw = s.get("breaker")
        if raw is None or raw is False:
            breaker = None
        elif raw is True:
            breaker = b.breaker or BreakerSettings()
        else:
            breaker = parse_breaker(s.sub("breaker"), raw, b.breaker)
    fallback = b.fallback
    if s.has("fallback"):
        raw_fallback = s.get("fallback")
        fallback = (
            None
            if raw_fallback is None
            else s.importable("fallback", raw_fallback, want="fallback")
        )
        if fallback is not None and not callable(fallback):
            raise SettingsError(s.sub("fallback"), f"{_show(raw_fallback)} is not callable")
    max_concurrency = s.integer("max_concurrency", b.max_concurrency, minimum=1, optional=True)
    max_queue = s.integer("max_queue", b.max_queue, minimum=0) or 0
    max_wait = s.number("max_wait", b.max_wait, minimum=0) or 0.0
    if max_concurrency is None and s.has("max_queue") and max_queue:
        raise SettingsError(s.sub("max_queue"), "needs max_concurrency to be set")
    if max_queue and not max_wait:
        raise SettingsError(
            s.sub("max_wait"), "a queue (max_queue > 0) needs max_wait > 0, the longest wait"
        )
    policy = PolicySettings(
        timeout=s.number("timeout", b.timeout, minimum=0, exclusive_min=True, optional=True),
        timeout_mode=s.choice("timeout_mode", b.timeout_mode, ("deadline", "thread")),  # type: ignore[arg-type]
        max_concurrency=max_concurrency,
        max_queue=max_queue,
        max_wait=max_wait,
        breaker=breaker,
        fallback=fallback,
        stale_if_error=s.number(
            "stale_if_error", b.stale_if_error, minimum=0, exclusive_min=True, optional=True
        ),
    )
    refuses = policy.breaker is not None or policy.max_concurrency or policy.timeout is not None
    if base is not None and s.has("stale_if_error") and policy.stale_if_error and not refuses:
        # Inherited from the defaults it may rest unused; set on a route that never refuses, never.
        raise SettingsError(
            s.sub("stale_if_error"),
            "serves the last good response while a breaker, bulkhead or timeout refuses requests,"
            " and this route has none of them",
        )
    return policy


def _parse_routes(
    root: _Section, defaults: PolicySettings
) -> tuple[tuple[str, PolicySettings], ...]:
    from seawall.config.routes import parse_route_key

    raw = _or_empty(root.get("routes"))
    if not isinstance(raw, Mapping):
        raise SettingsError("routes", f"expected a mapping of route to policy, got {_show(raw)}")
    routes: list[tuple[str, PolicySettings]] = []
    section = _Section("routes", raw, [k for k in raw if isinstance(k, str)])
    for key, policy in raw.items():
        try:
            parse_route_key(key)
        except ValueError as exc:
            raise SettingsError(section.sub(key), str(exc)) from None
        routes.append((key, parse_policy(section.sub(key), _or_empty(policy), defaults)))
    return tuple(routes)


def _parse_settings(data: dict[str, Any]) -> Settings:
    root = _Section(
        "", data, ("correlation", "redaction", "errors", "logging", "defaults", "routes")
    )
    defaults = parse_policy("defaults", _or_empty(data.get("defaults")))
    return Settings(
        correlation=_parse_correlation(root),
        redaction=_parse_redaction(root),
        errors=_parse_errors(root),
        logging=_parse_logging(root),
        defaults=defaults,
        routes=_parse_routes(root, defaults),
    )
