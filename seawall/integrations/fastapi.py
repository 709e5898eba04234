"""Seawall for FastAPI apps: ``install(app, settings)`` and a correlation id dependency.

Everything of the Starlette integration, plus problem responses for
``RequestValidationError`` (422 with an ``errors`` member listing field, message and type).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError

from seawall.config.settings import Settings
from seawall.context.correlation import get_correlation_id
from seawall.integrations import starlette
from seawall.server.pipeline import Pipeline

__all__ = ["PROBLEM_SCHEMA", "CorrelationId", "correlation_id", "install"]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: what went wrong, safe to show, with ids to quote.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "format": "uri-reference"},
        "correlation_id": {"type": "string"},
        "error_id": {"type": "string"},
        "reason": {"type": "string", "description": "Why seawall refused: circuit_open, ..."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
"""The JSON schema of seawall's problem responses, added to the app's OpenAPI components."""

_REF = {"$ref": "#/components/schemas/Problem"}


def install(app: FastAPI, settings: Settings | Any = None) -> Pipeline:
    """Add seawall to a FastAPI app; settings errors raise at once, naming the key.

    >>> install(app, {"routes": {"GET /items/{item_id}": {"timeout": 2}}})
    """
    pipeline = starlette.install(app, settings)
    starlette.handle_problems(app, RequestValidationError, starlette.problem_handler(pipeline))
    _document_problems(app)
    return pipeline


def _document_problems(app: FastAPI) -> None:
    """Describe problem responses in the OpenAPI schema: 422 and every other error."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        content = {"application/problem+json": {"schema": _REF}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.get("responses") if isinstance(operation, dict) else None
                if responses is None:
                    continue
                if "422" in responses:
                    responses["422"] = {"description": "Validation failed", "content": content}
                responses.setdefault(
                    "default",
                    {"description": "An error, as an RFC 9457 problem", "content": content},
                )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def correlation_id() -> str | None:
    """FastAPI dependency: the current request's correlation id."""
    return get_correlation_id()


CorrelationId = Annotated[str | None, Depends(correlation_id)]
"""Use as a parameter type: ``async def view(cid: CorrelationId): ...``."""
