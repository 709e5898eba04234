"""Redaction where logs are made: a structlog processor and a stdlib logging filter."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from seawall.observability.chain import current_marker, pre_redacted
from seawall.observability.redaction.redactor import Redactor

__all__ = ["RedactingFilter", "RedactingProcessor"]


class RedactingProcessor:
    """structlog processor: redact every key and value of the event, last before rendering.

    Place it after ``format_exc_info`` so rendered tracebacks are redacted too.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor()

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if current_marker() is None:  # not one of seawall's own events: the common case
            plain: MutableMapping[str, Any] = self.redactor.redact(event_dict)
            return plain
        safe = pre_redacted(event_dict)
        if not safe:
            redacted: MutableMapping[str, Any] = self.redactor.redact(event_dict)
            return redacted
        # Seawall's own events: fields built from redacted parts pass, the rest is redacted.
        rest = self.redactor.redact({k: v for k, v in event_dict.items() if k not in safe})
        return {**{k: v for k, v in event_dict.items() if k in safe}, **rest}


class RedactingFilter(logging.Filter):
    """stdlib filter for handlers: redacts each record it sees, in place.

    Attached to a handler it covers records from every child logger. It renders ``exc_info``
    into redacted ``exc_text`` and clears ``exc_info``, so formatters never print the raw
    traceback. Records are shared between handlers, so it redacts in place, as filters may.
    """

    def __init__(self, redactor: Redactor | None = None, name: str = "") -> None:
        super().__init__(name)
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self.redactor.redact_record_in_place(record)
        except Exception:
            record.msg, record.args, record.exc_info, record.exc_text = (
                "[REDACTED:unredactable log record]", None, None, None,
            )  # fmt: skip
        return True
