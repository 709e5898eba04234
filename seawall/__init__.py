"""Seawall: correlation ids, redaction, RFC 9457 problems and per-route resilience.

Framework-agnostic ASGI and WSGI middleware plus thin adapters for Django, Flask and
FastAPI/Starlette. Names are imported lazily so ``import seawall`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seawall._version import __version__ as __version__

if TYPE_CHECKING:
    from seawall.asgi.middleware import ASGIMiddleware
    from seawall.client.dependencies import Dependencies, UnknownDependencyError
    from seawall.client.fallback import FallbackCall
    from seawall.client.handle import dependency
    from seawall.config.policies import policy
    from seawall.config.settings import Settings, SettingsError
    from seawall.context.correlation import get_correlation_id, set_correlation_id
    from seawall.errors.exceptions import (
        BulkheadFullError,
        CircuitOpenError,
        DeadlineExceededError,
        RequestTimeoutError,
        SeawallRejection,
    )
    from seawall.errors.problems import problem
    from seawall.observability.redaction import Redactor, redact
    from seawall.resilience.breaker import CircuitBreaker
    from seawall.server.fallback import FallbackRequest, FallbackResponse
    from seawall.server.pipeline import Pipeline
    from seawall.wsgi.middleware import WSGIMiddleware

__all__ = [
    "ASGIMiddleware",
    "BulkheadFullError",
    "CircuitBreaker",
    "CircuitOpenError",
    "DeadlineExceededError",
    "Dependencies",
    "FallbackCall",
    "FallbackRequest",
    "FallbackResponse",
    "Pipeline",
    "Redactor",
    "RequestTimeoutError",
    "SeawallRejection",
    "Settings",
    "SettingsError",
    "UnknownDependencyError",
    "WSGIMiddleware",
    "dependency",
    "get_correlation_id",
    "policy",
    "problem",
    "redact",
    "set_correlation_id",
]

_LOCATIONS = {
    "ASGIMiddleware": "seawall.asgi.middleware",
    "BulkheadFullError": "seawall.errors.exceptions",
    "CircuitBreaker": "seawall.resilience.breaker",
    "CircuitOpenError": "seawall.errors.exceptions",
    "DeadlineExceededError": "seawall.errors.exceptions",
    "Dependencies": "seawall.client.dependencies",
    "FallbackCall": "seawall.client.fallback",
    "FallbackRequest": "seawall.server.fallback",
    "FallbackResponse": "seawall.server.fallback",
    "Pipeline": "seawall.server.pipeline",
    "Redactor": "seawall.observability.redaction",
    "RequestTimeoutError": "seawall.errors.exceptions",
    "SeawallRejection": "seawall.errors.exceptions",
    "Settings": "seawall.config.settings",
    "SettingsError": "seawall.config.settings",
    "UnknownDependencyError": "seawall.client.dependencies",
    "WSGIMiddleware": "seawall.wsgi.middleware",
    "dependency": "seawall.client.handle",
    "get_correlation_id": "seawall.context.correlation",
    "policy": "seawall.config.policies",
    "problem": "seawall.errors.problems",
    "redact": "seawall.observability.redaction",
    "set_correlation_id": "seawall.context.correlation",
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
