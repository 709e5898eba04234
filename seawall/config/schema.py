"""The settings schema: one frozen dataclass per section, the choices they allow, the error.

Each dataclass default is the built-in value its parser falls back on, so a default is written
once. The root :class:`~seawall.config.settings.Settings` holds one of these per section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "AdminSettings",
    "AlertRules",
    "AlertSink",
    "AlertsSettings",
    "AnalyticsSettings",
    "BreakerSettings",
    "BudgetSettings",
    "CorrelationSettings",
    "DeadLetterSettings",
    "DependencySettings",
    "ErrorMapping",
    "ErrorsSettings",
    "HealthSettings",
    "LoggingSettings",
    "MetricsSettings",
    "PolicySettings",
    "RecoverySettings",
    "RedactionSettings",
    "RetrySettings",
    "Routes",
    "SettingsError",
    "SpikeRule",
    "StateSettings",
]

Incoming = Literal["accept", "reject", "ignore"]
Placeholder = Literal["label", "hmac"]
ErrorsFormat = Literal["auto", "json"]
LogFormat = Literal["auto", "json", "console"]
WindowType = Literal["time", "count"]
BreakerMode = Literal["enforce", "metrics_only", "disabled"]
TimeoutMode = Literal["deadline", "thread"]
DeadLetterBackend = Literal["sqlite", "redis"]
FallbackOn = Literal["rejected", "error"]
StateBackend = Literal["memory", "redis"]
Details = Literal["never", "always", "token"]
Jitter = Literal["full", "equal", "none"]

INCOMING: tuple[Incoming, ...] = get_args(Incoming)
PLACEHOLDERS: tuple[Placeholder, ...] = get_args(Placeholder)
ERRORS_FORMATS: tuple[ErrorsFormat, ...] = get_args(ErrorsFormat)
LOG_FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)
WINDOW_TYPES: tuple[WindowType, ...] = get_args(WindowType)
BREAKER_MODES: tuple[BreakerMode, ...] = get_args(BreakerMode)
TIMEOUT_MODES: tuple[TimeoutMode, ...] = get_args(TimeoutMode)
DEAD_LETTER_BACKENDS: tuple[DeadLetterBackend, ...] = get_args(DeadLetterBackend)
FALLBACK_ON: tuple[FallbackOn, ...] = get_args(FallbackOn)
STATE_BACKENDS: tuple[StateBackend, ...] = get_args(StateBackend)
DETAILS: tuple[Details, ...] = get_args(Details)
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
    fallback_on: frozenset[FallbackOn] = frozenset({"rejected"})  # rejected: refusals; error: 5xx
    stale_if_error: float | None = None
    critical: bool = False  # an open breaker fails readiness instead of warning

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
class DeadLetterSettings:
    """Where operations that failed for good are kept, and for how long."""

    backend: DeadLetterBackend = "sqlite"
    path: str = "seawall-dead-letters.sqlite3"
    url: str | None = None  # the Redis URL of the ``redis`` backend
    retention: float = 604800.0  # seconds an entry is kept
    max_entries: int = 100000  # per store; the oldest go first


@dataclass(frozen=True, slots=True)
class StateSettings:
    backend: StateBackend = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "seawall:"
    timeout: float = 0.05  # seconds any Redis command may take before the worker goes on alone


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    enabled: bool = True
    max_fingerprints: int = 1000


SinkType = Literal["webhook", "slack", "alertmanager", "log"]
SINK_TYPES: tuple[SinkType, ...] = get_args(SinkType)


@dataclass(frozen=True, slots=True)
class AlertSink:
    type: SinkType
    url: str | None = None
    secret: str | None = None  # webhook: HMAC-SHA256 signature header when set
    generator_url: str | None = None  # alertmanager: where the alert links to


@dataclass(frozen=True, slots=True)
class SpikeRule:
    window: int = 300
    min_count: int = 10
    factor: float = 3.0


@dataclass(frozen=True, slots=True)
class AlertRules:
    new_error: bool = True
    error_spike: SpikeRule | None = field(default_factory=SpikeRule)
    breaker_open: bool = True
    recovery_exhausted: bool = True
    retry_budget_exhausted: bool = True
    readiness_failed: bool = True
    retry_budget_cooldown: float = 300.0  # quiet seconds that end a budget-exhaustion incident
    dead_letter_depth: int | None = 100  # alert when a dead-letter queue holds more; None: off


@dataclass(frozen=True, slots=True)
class AlertsSettings:
    sinks: tuple[AlertSink, ...] = ()
    rules: AlertRules = field(default_factory=AlertRules)
    cooldown: float = 300.0
    queue_size: int = 1000
    timeout: float = 5.0  # seconds per delivery attempt
    retries: int = 3  # further attempts after a failed delivery, with exponential backoff


@dataclass(frozen=True, slots=True)
class AdminSettings:
    path: str = "/_seawall"
    token: str | None = None  # unset: SEAWALL_ADMIN__TOKEN from the environment, if any


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    enabled: bool = False
    path: str = "/metrics"
    buckets: tuple[float, ...] | None = None  # None: the OpenTelemetry HTTP duration buckets


@dataclass(frozen=True, slots=True)
class HealthSettings:
    path: str | None = "/health"  # None: no health endpoints
    checks: tuple[tuple[str, Callable[[], Any]], ...] = ()
    timeout: float = 2.0
    cache_for: float = 5.0
    failure_cache_for: float = 1.0
    details: Details = "never"


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
    dead_letter: bool = False  # a call that fails for good is stored in the dead-letter queue
