"""Exceptions seawall answers without being told: Python's own and the frameworks'.

Python's are matched by class; the frameworks' (Starlette, FastAPI, pydantic, Werkzeug, Django,
Django REST framework) by qualified class name, so the core never imports a framework. Their
status, safe detail, headers and validation errors are read from attributes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from seawall.errors.spec import ProblemSpec

__all__ = ["KNOWN_NAMES", "KNOWN_TYPES"]


def _status_of(exc: BaseException) -> int:
    for name in ("status_code", "code", "status"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and 400 <= value <= 599:
            return value
    return 500


def _http_exception(exc: BaseException) -> dict[str, Any]:
    """Starlette/FastAPI/Werkzeug/DRF style: status and safe message from attributes."""
    status = _status_of(exc)
    detail = getattr(exc, "detail", None)
    if detail is None:
        detail = getattr(exc, "description", None)
    out: dict[str, Any] = {"status": status}
    if isinstance(detail, str) and status < 500:
        out["detail"] = detail
    elif isinstance(detail, list | dict) and status < 500:
        out["errors"] = _drf_errors(detail)
    headers = getattr(exc, "headers", None)
    if isinstance(headers, Mapping):
        out["headers"] = dict(headers)  # checked for sending by the problem that uses them
    return out


_BODY_HEADERS = frozenset({"content-type", "content-length"})
"""Headers that describe the framework's own body, which the problem replaces."""


def _werkzeug_exception(exc: BaseException) -> dict[str, Any]:
    """Werkzeug/Flask: the headers its ``get_headers()`` gives (``Allow`` of a 405,
    ``WWW-Authenticate`` of a 401, ``Retry-After`` of a 429 or 503)."""
    out = _http_exception(exc)
    get_headers = getattr(exc, "get_headers", None)
    if callable(get_headers):
        try:
            pairs = list(get_headers())
        except Exception:  # a broken subclass must not break the error path
            pairs = []
        out["headers"] = _joined(pairs)
    return out


def _drf_exception(exc: BaseException) -> dict[str, Any]:
    """Django REST framework: the ``WWW-Authenticate`` its view attaches to an authentication
    failure and the ``Retry-After`` of ``Throttled``, as DRF's own handler sends them."""
    out = _http_exception(exc)
    headers: dict[str, str] = out.setdefault("headers", {})
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = str(auth_header)
    wait = getattr(exc, "wait", None)
    if isinstance(wait, int | float):
        headers.setdefault("Retry-After", str(max(1, math.ceil(wait))))
    return out


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Header pairs as a mapping, repeated names joined by ``, `` (RFC 9110 list syntax)."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        name = str(name)
        if name.lower() in _BODY_HEADERS:
            continue
        headers[name] = f"{headers[name]}, {value}" if name in headers else str(value)
    return headers


def _drf_errors(detail: Any, prefix: str = "") -> list[dict[str, Any]]:
    if isinstance(detail, Mapping):
        errors: list[dict[str, Any]] = []
        for key, value in detail.items():
            errors += _drf_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return errors
    if isinstance(detail, list):
        return [e for item in detail for e in _drf_errors(item, prefix)]
    code = getattr(detail, "code", None)
    return [{"field": prefix or None, "message": str(detail), "type": code}]


def _validation_errors(exc: BaseException) -> dict[str, Any]:
    """pydantic / FastAPI: list field, message and type; the input values are never included."""
    errors_fn = getattr(exc, "errors", None)
    items: list[Any] = []
    if callable(errors_fn):
        try:
            items = list(errors_fn())
        except Exception:  # a broken errors() must not break the error path
            items = []
    errors = []
    for item in items[:100]:
        if isinstance(item, Mapping):
            loc = item.get("loc", ())
            errors.append(
                {
                    "field": ".".join(str(part) for part in loc) if loc else None,
                    "location": loc[0]
                    if loc and loc[0] in ("body", "query", "path", "header", "cookie")
                    else None,
                    "message": str(item.get("msg", "")),
                    "type": item.get("type"),
                }
            )
    return {"errors": errors}


KNOWN_TYPES: dict[type[BaseException], ProblemSpec] = {
    TimeoutError: ProblemSpec(504, classification="transient"),
    ConnectionError: ProblemSpec(503, classification="transient"),
    PermissionError: ProblemSpec(403, classification="authorization"),
    NotImplementedError: ProblemSpec(501, classification="permanent"),
}

KNOWN_NAMES: dict[str, ProblemSpec] = {
    "starlette.exceptions.HTTPException": ProblemSpec(500, extract=_http_exception),
    "werkzeug.exceptions.HTTPException": ProblemSpec(500, extract=_werkzeug_exception),
    "rest_framework.exceptions.APIException": ProblemSpec(500, extract=_drf_exception),
    "fastapi.exceptions.RequestValidationError": ProblemSpec(
        422, "Validation failed", detail="The request is not valid.", extract=_validation_errors
    ),
    "fastapi.exceptions.WebSocketRequestValidationError": ProblemSpec(
        422, "Validation failed", detail="The request is not valid.", extract=_validation_errors
    ),
    "pydantic_core._pydantic_core.ValidationError": ProblemSpec(
        422, "Validation failed", detail="The request is not valid.", extract=_validation_errors
    ),
    # Starlette's request body limit has sent its 413 already and unwinds to its own layer.
    "starlette.middleware.body_limit._RequestBodyLimitResponseSent": ProblemSpec(
        413, answered=True
    ),
    "django.http.response.Http404": ProblemSpec(404, detail="The resource was not found."),
    "django.core.exceptions.PermissionDenied": ProblemSpec(403, detail="You may not do this."),
    "django.core.exceptions.SuspiciousOperation": ProblemSpec(400, detail="Request refused."),
    "django.core.exceptions.BadRequest": ProblemSpec(400, detail="The request is not valid."),
}  # fmt: skip
