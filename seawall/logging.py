"""Logging set-up: structlog and stdlib logging with correlation ids and redaction.

The public path; the implementation lives in :mod:`seawall.observability.logging`."""

from seawall.observability.logging import *  # noqa: F403
from seawall.observability.logging import __all__ as __all__  # noqa: PLC0414 (re-exported)
