"""The correlation id on the servers' access log lines: ``django.server`` (runserver),
``gunicorn.access`` and ``uvicorn.access`` serving Django.

Servers write the access line after Django has answered, when the request's id is no longer
set. The middleware leaves the id it answered with in :data:`ANSWERED` (in the request's own
thread or task), and :class:`AccessLogFilter`, which the app adds to those loggers, puts it on
the next access record there, once.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

__all__ = ["ACCESS_LOGGERS", "ANSWERED", "AccessLogFilter", "install_access_log_filter"]

ACCESS_LOGGERS = ("django.server", "gunicorn.access", "uvicorn.access")

ANSWERED: ContextVar[str | None] = ContextVar("seawall_answered_id", default=None)
"""The id of the request this thread or task answered last, until its access line takes it."""


class AccessLogFilter(logging.Filter):
    """Sets ``record.correlation_id`` of an access line to the id its request was answered
    with (``"-"`` when none, as :class:`seawall.logging.CorrelationIdFilter` does)."""

    def filter(self, record: logging.LogRecord) -> bool:
        answered = ANSWERED.get()
        if answered is not None:
            ANSWERED.set(None)  # once: a later line of a request seawall did not see gets none
        if getattr(record, "correlation_id", None) in (None, "-"):
            record.correlation_id = answered or "-"
        return True


def install_access_log_filter() -> None:
    """Add the filter to every access logger, once."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, AccessLogFilter) for f in logger.filters):
            logger.addFilter(AccessLogFilter())
