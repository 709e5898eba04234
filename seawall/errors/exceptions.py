"""Exceptions seawall raises itself: rejections that become 400/503/504 problem responses."""

from __future__ import annotations

from typing import Any

__all__ = [
    "BulkheadFullError",
    "CircuitOpenError",
    "DeadlineExceededError",
    "InvalidCorrelationIdError",
    "RequestTimeoutError",
    "SeawallRejection",
]


class SeawallRejection(Exception):
    """Seawall refused or cut short a request; ``reason`` is the problem ``type`` suffix.

    ``route`` and ``retry_after`` live in slots: setting them then allocates no instance dict,
    a third of what building a rejection cost (made per refused request under load).
    """

    __slots__ = ("retry_after", "route")

    status: int = 503
    reason: str = "rejected"
    title: str = "Service unavailable"
    detail: str = "The service cannot handle this request right now. Please retry later."

    def __init__(self, route: str | None = None, retry_after: float | None = None) -> None:
        # No message is built here: rejections are made per request under load.
        self.route = route
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.reason} on route {self.route or '(default)'}"

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException pickles args and __dict__ only: the slots go in the state too.
        state = {**self.__dict__, "route": self.route, "retry_after": self.retry_after}
        return (type(self), self.args, state)


class CircuitOpenError(SeawallRejection):
    """The route's circuit breaker is open: the call was not made."""

    reason = "circuit_open"
    title = "Service temporarily unavailable"
    detail = "This part of the service is failing and is paused to recover. Please retry later."


class BulkheadFullError(SeawallRejection):
    """The route's concurrency limit and queue are full, or the wait for a slot ran out."""

    reason = "bulkhead_full"
    title = "Too busy"
    detail = "This part of the service is handling too many requests. Please retry shortly."


class DeadlineExceededError(SeawallRejection):
    """The request's deadline passed before its handler could start."""

    reason = "deadline_exceeded"
    title = "Service unavailable"
    detail = "The request waited too long to be handled. Please retry."


class RequestTimeoutError(SeawallRejection):
    """The handler ran past the route's timeout and was cancelled or abandoned."""

    status = 504
    reason = "timeout"
    title = "Request timed out"
    detail = "The request took too long to handle. Please retry later."


class InvalidCorrelationIdError(SeawallRejection):
    """The client sent a correlation id that fails validation and the policy is ``reject``."""

    status = 400
    reason = "invalid_correlation_id"
    title = "Invalid correlation id"
    detail = "The request's correlation id header is not valid."
