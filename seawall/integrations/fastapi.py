"""Seawall for FastAPI apps: ``install(app, settings)`` and a correlation id dependency.

Everything of the Starlette integration, plus problem responses for
``RequestValidationError`` (422 with an ``errors`` member listing field, message and type).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError

from seawall.correlation import get_correlation_id
from seawall.integrations import starlette
from seawall.pipeline import Pipeline
from seawall.settings import Settings

__all__ = ["CorrelationId", "correlation_id", "install"]


def install(app: FastAPI, settings: Settings | Any = None) -> Pipeline:
    """Add seawall to a FastAPI app; settings errors raise at once, naming the key.

    >>> install(app, {"routes": {"GET /items/{item_id}": {"timeout": 2}}})
    """
    pipeline = starlette.install(app, settings)
    app.add_exception_handler(RequestValidationError, starlette.problem_handler(pipeline))
    return pipeline


def correlation_id() -> str | None:
    """FastAPI dependency: the current request's correlation id."""
    return get_correlation_id()


CorrelationId = Annotated[str | None, Depends(correlation_id)]
"""Use as a parameter type: ``async def view(cid: CorrelationId): ...``."""
