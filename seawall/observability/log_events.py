"""Logging as a subscriber of the event bus: one sanitized structlog line per failure,
rejection, aborted response, breaker move, failed fallback, invalid correlation id and shared
state outage."""

from __future__ import annotations

from typing import Any

from seawall.errors.event import error_event
from seawall.observability.events import (
    BreakerStateChanged,
    CorrelationIdInvalid,
    EventBus,
    FallbackFailed,
    RequestFailed,
    RequestRejected,
    ResponseAborted,
    StateRestored,
    StateUnavailable,
)
from seawall.observability.redaction import Redactor

__all__ = ["EventLog"]


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

    def attach(self, bus: EventBus) -> None:
        """Subscribe to every kind of event this log writes."""
        bus.subscribe(RequestFailed, self.request_failed)
        bus.subscribe(ResponseAborted, self.response_aborted)
        bus.subscribe(RequestRejected, self.request_rejected)
        bus.subscribe(BreakerStateChanged, self.breaker_state_changed)
        bus.subscribe(FallbackFailed, self.fallback_failed)
        bus.subscribe(CorrelationIdInvalid, self.correlation_id_invalid)
        bus.subscribe(StateUnavailable, self.state_unavailable)
        bus.subscribe(StateRestored, self.state_restored)

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
        if status >= 500:
            self.logger.error(**record)
        else:
            self.logger.warning(**record)

    def response_aborted(self, event: ResponseAborted) -> None:
        record = self._error_event(event)
        record["event"] = "response_aborted"
        self.logger.error(**record)

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

    def correlation_id_invalid(self, event: CorrelationIdInvalid) -> None:
        self.logger.warning("correlation_id_invalid", hint=event.hint, action=event.action)

    def state_unavailable(self, event: StateUnavailable) -> None:
        self.logger.warning(
            "state_unavailable", backend=event.backend, error=self._redact(event.error)
        )

    def state_restored(self, event: StateRestored) -> None:
        self.logger.info("state_restored", backend=event.backend, down_for=round(event.down_for, 3))
