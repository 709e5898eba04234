"""Logging set-up: structlog and stdlib logging with correlation ids and redaction.

The public path; the implementation lives in :mod:`seawall.observability.logging`."""

from seawall.observability.logging import (
    CorrelationIdFilter,
    add_correlation_id,
    configure,
    get_logger,
)

__all__ = [
    "CorrelationIdFilter",
    "add_correlation_id",
    "configure",
    "get_logger",
]
