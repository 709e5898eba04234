"""Seawall's events and the process-wide bus to subscribe to them.

The public path; the implementation lives in :mod:`seawall.observability.events`."""

from seawall.observability.events import (
    BUS,
    BreakerStateChanged,
    BulkheadSaturated,
    CorrelationIdInvalid,
    Event,
    EventBus,
    FallbackFailed,
    FallbackServed,
    RequestFailed,
    RequestRejected,
    ResponseAborted,
    StaleServed,
    subscribe,
)

__all__ = [
    "BUS",
    "BreakerStateChanged",
    "BulkheadSaturated",
    "CorrelationIdInvalid",
    "Event",
    "EventBus",
    "FallbackFailed",
    "FallbackServed",
    "RequestFailed",
    "RequestRejected",
    "ResponseAborted",
    "StaleServed",
    "subscribe",
]
