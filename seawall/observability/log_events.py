"""Logging as a subscriber of the event bus: one sanitized structlog line per failure,
rejection, aborted response, breaker move, failed fallback, passed deadline, dropped header,
failed answer, invalid correlation id and shared state outage; for dependencies, breaker moves,
recovery runs and exhaustion, and refused retries (at most one line per dependency and reason
every 10 seconds, with the count: a storm must not flood)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from seawall.errors.event import PRE_REDACTED, error_event
from seawall.observability.chain import is_quiet, logged
from seawall.observability.events import (
    AnswerFailed,
    BreakerStateChanged,
    CorrelationIdInvalid,
    DeadlineExceeded,
    DependencyBreakerChanged,
    DependencyRetry,
    EventBus,
    FallbackFailed,
    HeadersDropped,
    ReadinessFailed,
    ReadinessRecovered,
    RecoveryExhausted,
    RecoveryRan,
    RequestFailed,
    RequestRejected,
    ResponseAborted,
    StateRestored,
    StateUnavailable,
)
from seawall.observability.redaction import Redactor

__all__ = ["EventLog"]

_QUIET_FOR = 10.0


class EventLog:
    """Writes the events of one pipeline to ``logger`` (the ``seawall`` structlog logger)."""

    def __init__(
        self,
        logger: Any,
        redactor: Redactor,
        *,
        frames: int,
        include_locals: bool,
        log_client_errors: bool,
    ) -> None:
        self.logger = logger
        self._redact = redactor.text
        self._frames = frames
        self._locals = include_locals
        self._client_errors = log_client_errors
        self._refusals: dict[tuple[str, str], list[float]] = {}  # key -> [last logged, unlogged]

    def attach(self, bus: EventBus) -> None:
        """Subscribe to every kind of event this log writes (none while tests quiet it)."""
        writers: list[tuple[type[Any], Callable[[Any], None]]] = [
            (RequestFailed, self.request_failed),
            (ResponseAborted, self.response_aborted),
            (RequestRejected, self.request_rejected),
            (BreakerStateChanged, self.breaker_state_changed),
            (FallbackFailed, self.fallback_failed),
            (CorrelationIdInvalid, self.correlation_id_invalid),
            (DeadlineExceeded, self.deadline_exceeded),
            (HeadersDropped, self.headers_dropped),
            (AnswerFailed, self.answer_failed),
            (StateUnavailable, self.state_unavailable),
            (StateRestored, self.state_restored),
            (DependencyBreakerChanged, self.dependency_breaker_changed),
            (DependencyRetry, self.dependency_retry),
            (RecoveryRan, self.recovery_ran),
            (RecoveryExhausted, self.recovery_exhausted),
            (ReadinessFailed, self.readiness_failed),
            (ReadinessRecovered, self.readiness_recovered),
        ]
        for kind, write in writers:
            bus.subscribe(kind, _unless_quiet(write))

    def _error_event(self, event: RequestFailed | ResponseAborted) -> dict[str, Any]:
        return error_event(
            event.exception,
            event.problem,
            method=event.method,
            route=event.route,
            redactor_text=self._redact,
            frames=self._frames,
            include_locals=self._locals,
        )

    def request_failed(self, event: RequestFailed) -> None:
        status = event.problem.status
        if status < 500 and not self._client_errors:
            return
        record = self._error_event(event)
        log = self.logger.error if status >= 500 else self.logger.warning
        logged(log, record, PRE_REDACTED)

    def response_aborted(self, event: ResponseAborted) -> None:
        record = self._error_event(event)
        record["event"] = "response_aborted"
        logged(self.logger.error, record, PRE_REDACTED)

    def request_rejected(self, event: RequestRejected) -> None:
        self.logger.warning(
            "request_rejected",
            reason=event.reason,
            status=event.status,
            method=event.method,
            route=event.route,
            error_id=event.error_id,
            correlation_id=event.correlation_id,
        )

    def breaker_state_changed(self, event: BreakerStateChanged) -> None:
        self.logger.warning(
            "breaker_state_changed",
            route=event.route,
            old_state=event.old_state,
            new_state=event.new_state,
            reason=event.reason,
        )

    def fallback_failed(self, event: FallbackFailed) -> None:
        self.logger.error("fallback_failed", route=event.route, exception=event.exception)

    def deadline_exceeded(self, event: DeadlineExceeded) -> None:
        self.logger.warning(
            "deadline_exceeded",
            route=event.route,
            timeout=event.timeout,
            over=round(event.over, 3),
        )

    def headers_dropped(self, event: HeadersDropped) -> None:
        self.logger.warning(
            "headers_dropped", method=event.method, route=event.route, headers=list(event.names)
        )

    def answer_failed(self, event: AnswerFailed) -> None:
        self.logger.error(
            "answer_failed",
            method=event.method,
            route=event.route,
            exception=event.exception,
            error=event.error,
            error_id=event.error_id,
        )

    def correlation_id_invalid(self, event: CorrelationIdInvalid) -> None:
        self.logger.warning("correlation_id_invalid", hint=event.hint, action=event.action)

    def dependency_breaker_changed(self, event: DependencyBreakerChanged) -> None:
        self.logger.warning(
            "dependency_breaker_changed",
            dependency=event.dependency,
            old_state=event.old_state,
            new_state=event.new_state,
            reason=event.reason,
            critical=event.critical,
        )

    def dependency_retry(self, event: DependencyRetry) -> None:
        if event.outcome not in ("budget_exhausted", "deadline"):
            return
        now = time.monotonic()
        key = (event.dependency, event.outcome)
        entry = self._refusals.get(key)
        if entry is not None and now - entry[0] < _QUIET_FOR:
            entry[1] += 1
            return
        self._refusals[key] = [now, 0.0]
        self.logger.warning(
            "dependency_retry_refused",
            dependency=event.dependency,
            reason=event.outcome,
            classification=event.classification,
            refused_since_last_line=int(entry[1]) if entry is not None else 0,
        )

    def recovery_ran(self, event: RecoveryRan) -> None:
        log = self.logger.error if event.outcome == "failed" else self.logger.warning
        log(
            "dependency_recovery",
            dependency=event.dependency,
            action=event.action,
            attempt=event.attempt,
            outcome=event.outcome,
            exception=event.error,
        )

    def recovery_exhausted(self, event: RecoveryExhausted) -> None:
        self.logger.error(
            "dependency_recovery_exhausted",
            dependency=event.dependency,
            action=event.action,
            attempts=event.attempts,
        )

    def state_unavailable(self, event: StateUnavailable) -> None:
        self.logger.warning(
            "state_unavailable", backend=event.backend, error=self._redact(event.error)
        )

    def state_restored(self, event: StateRestored) -> None:
        self.logger.info("state_restored", backend=event.backend, down_for=round(event.down_for, 3))

    def readiness_failed(self, event: ReadinessFailed) -> None:
        self.logger.warning("readiness_failed", path=event.name, components=list(event.components))

    def readiness_recovered(self, event: ReadinessRecovered) -> None:
        self.logger.info("readiness_recovered", path=event.name, down_for=round(event.down_for, 3))


def _unless_quiet(write: Callable[[Any], None]) -> Callable[[Any], None]:
    def listener(event: Any) -> None:
        if not is_quiet():
            write(event)

    return listener
