"""Redaction: credentials and personal data never leave the process in a log or a response.

``redact(obj)`` uses a default :class:`Redactor`; build your own from settings with
``Redactor.from_settings(settings.redaction)``.
"""

from __future__ import annotations

from typing import Any

from seawall.observability.redaction.processors import RedactingFilter, RedactingProcessor
from seawall.observability.redaction.redactor import Redactor

__all__ = ["RedactingFilter", "RedactingProcessor", "Redactor", "redact"]

_default: Redactor | None = None


def redact(obj: Any) -> Any:
    """A redacted copy of ``obj`` (str, bytes, mapping, sequence, exception, LogRecord).

    >>> redact({"password": "hunter2", "note": "call +44 20 7946 0958"})
    {'password': '[REDACTED:password]', 'note': 'call [REDACTED:phone]'}
    """
    global _default
    if _default is None:
        _default = Redactor()
    return _default.redact(obj)
