"""The settings schema: one frozen dataclass per section, the choices they allow, the error.

Each dataclass default is the built-in value its parser falls back on, so a default is written
once. The root :class:`~seawall.config.settings.Settings` holds one of these per section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "BreakerSettings",
    "BudgetSettings",
    "CorrelationSettings",
    "DependencySettings",
    "ErrorMapping",
    "ErrorsSettings",
    "LoggingSettings",
    "PolicySettings",
    "RecoverySettings",
    "RedactionSettings",
    "RetrySettings",
    "Routes",
    "SettingsError",
]

Incoming = Literal["accept", "reject", "ignore"]
Placeholder = Literal["label", "hmac"]
ErrorsFormat = Literal["auto", "json"]
LogFormat = Literal["auto", "json", "console"]
WindowType = Literal["time", "count"]
BreakerMode = Literal["enforce", "metrics_only", "disabled"]
TimeoutMode = Literal["deadline", "thread"]
Jitter = Literal["full", "equal", "none"]

INCOMING: tuple[Incoming, ...] = get_args(Incoming)
PLACEHOLDERS: tuple[Placeholder, ...] = get_args(Placeholder)
ERRORS_FORMATS: tuple[ErrorsFormat, ...] = get_args(ErrorsFormat)
LOG_FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)
WINDOW_TYPES: tuple[WindowType, ...] = get_args(WindowType)
BREAKER_MODES: tuple[BreakerMode, ...] = get_args(BreakerMode)
TIMEOUT_MODES: tuple[TimeoutMode, ...] = get_args(TimeoutMode)
JITTERS: tuple[Jitter, ...] = get_args(Jitter)
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

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
    propagate_to: tuple[str, ...] = ()  # host patterns that receive the id on outgoing calls


@dataclass(frozen=True, slots=True)
class RedactionSettings:
    keys: tuple[str, ...] = ()
    safe_keys: tuple[str, ...] = ()
    detectors: Mapping[str, bool] = field(default_factory=dict)
    patterns: Mapping[str, str] = field(default_factory=dict)
    placeholder: Placeholder = "label"
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
    format: ErrorsFormat = "auto"
    log_client_errors: bool = False
    traceback_frames: int = 30


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    format: LogFormat = "auto"
    level: str = "INFO"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failure_rate: float = 0.5
    minimum_calls: int = 20
    window_type: WindowType = "time"
    window: int = 30
    open_for: float = 10.0
    max_open_for: float = 300.0
    jitter: float = 0.1
    half_open_calls: int = 3
    consecutive_failures: int | None = None
    slow_call_duration: float | None = None
    slow_call_rate: float = 1.0
    failure_statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    mode: BreakerMode = "enforce"


@dataclass(frozen=True, slots=True)
class PolicySettings:
    timeout: float | None = None
    timeout_mode: TimeoutMode = "deadline"
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


Routes = tuple[tuple[str, PolicySettings], ...]
"""The ``routes`` section: each route key with its policy, in the order the settings list them."""


@dataclass(frozen=True, slots=True)
class BudgetSettings:
    """Retries allowed: ``ratio`` of the calls of the last 10 s, plus ``min_per_second``."""

    ratio: float = 0.1
    min_per_second: float = 5.0


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """``attempts`` counts the first try; the default (1) never retries."""

    attempts: int = 1
    backoff: float = 0.1
    max_backoff: float = 2.0
    jitter: Jitter = "full"
    on: frozenset[str] = frozenset({"transient", "rate_limited"})
    budget: BudgetSettings = field(default_factory=BudgetSettings)


@dataclass(frozen=True, slots=True)
class RecoverySettings:
    """``action()`` runs off the request path when the breaker opens (see client/recovery.py)."""

    action: Callable[[], object]
    action_name: str
    cooldown: float = 60.0
    max_attempts: int = 3
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class DependencySettings:
    """One entry of ``dependencies``: the route policy keys plus what only calls have."""

    name: str
    policy: PolicySettings = field(default_factory=PolicySettings)
    hosts: tuple[str, ...] = ()
    retry: RetrySettings = field(default_factory=RetrySettings)
    critical: bool = False
    recovery: RecoverySettings | None = None
