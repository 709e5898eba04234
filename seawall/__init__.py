"""Seawall: correlation ids, redaction, RFC 9457 problems and per-route resilience.

Framework-agnostic ASGI and WSGI middleware plus thin adapters for Django, Flask and
FastAPI/Starlette. Names are imported lazily so ``import seawall`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seawall.breaker import CircuitBreaker
    from seawall.correlation import get_correlation_id, set_correlation_id
    from seawall.exceptions import (
        BulkheadFullError,
        CircuitOpenError,
        DeadlineExceededError,
        RequestTimeoutError,
        SeawallRejection,
    )
    from seawall.middleware.asgi import ASGIMiddleware
    from seawall.middleware.wsgi import WSGIMiddleware
    from seawall.policies import policy
    from seawall.problems import problem
    from seawall.redaction import Redactor, redact
    from seawall.settings import Settings, SettingsError

__all__ = [
    "ASGIMiddleware",
    "BulkheadFullError",
    "CircuitBreaker",
    "CircuitOpenError",
    "DeadlineExceededError",
    "Redactor",
    "RequestTimeoutError",
    "SeawallRejection",
    "Settings",
    "SettingsError",
    "WSGIMiddleware",
    "get_correlation_id",
    "policy",
    "problem",
    "redact",
    "set_correlation_id",
]

_LOCATIONS = {
    "ASGIMiddleware": "seawall.middleware.asgi",
    "BulkheadFullError": "seawall.exceptions",
    "CircuitBreaker": "seawall.breaker",
    "CircuitOpenError": "seawall.exceptions",
    "DeadlineExceededError": "seawall.exceptions",
    "Redactor": "seawall.redaction",
    "RequestTimeoutError": "seawall.exceptions",
    "SeawallRejection": "seawall.exceptions",
    "Settings": "seawall.settings",
    "SettingsError": "seawall.settings",
    "WSGIMiddleware": "seawall.middleware.wsgi",
    "get_correlation_id": "seawall.correlation",
    "policy": "seawall.policies",
    "problem": "seawall.problems",
    "redact": "seawall.redaction",
    "set_correlation_id": "seawall.correlation",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'seawall' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
