"""Exceptions to RFC 9457 problems: a registry looked up along the class's MRO.

Built-ins cover what apps raise most and the frameworks' own exceptions; frameworks are matched
by qualified class name, so the core never imports them. Order of precedence: settings
(``errors.map``) over code registrations (``@problem``) over built-ins; along the MRO the most
specific class wins.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from seawall.config.settings import ErrorsSettings
from seawall.errors.exceptions import InvalidCorrelationIdError, SeawallRejection

__all__ = ["Problem", "ProblemRegistry", "ProblemSpec", "classify_status", "problem"]

E = TypeVar("E", bound=type[BaseException])
Redact = Callable[[str], str]

TYPE_BASE = "https://seawall.dev/problems/"
"""``type`` URI prefix of seawall's own rejections (``…/circuit_open``, ``…/timeout``)."""

GENERIC_DETAIL = {
    400: "The request is not valid.",
    401: "Authentication is required.",
    403: "You do not have permission to do this.",
    404: "The resource was not found.",
    405: "This method is not allowed here.",
    409: "The request conflicts with the current state of the resource.",
    422: "The request is not valid.",
    429: "Too many requests. Please retry later.",
    500: "An unexpected error occurred. Quote the error id when you report it.",
    501: "This operation is not implemented.",
    502: "An upstream service answered badly. Please retry later.",
    503: "The service is unavailable right now. Please retry later.",
    504: "The request took too long to complete. Please retry later.",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """An RFC 9457 problem: the members, extension members and response headers."""

    status: int
    title: str
    type: str = "about:blank"
    detail: str | None = None
    instance: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    classification: str = "unknown"


@dataclass(frozen=True, slots=True)
class ProblemSpec:
    """How one exception class is answered. ``detail`` may be text or ``(exc) -> str``.

    ``answered``: the framework raises it after sending its own response, to unwind to the layer
    of its that catches it; seawall lets it through and logs nothing.
    """

    status: int
    title: str | None = None
    type: str = "about:blank"
    detail: str | Callable[[BaseException], str | None] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    classification: str | None = None
    extract: Callable[[BaseException], dict[str, Any]] | None = None
    answered: bool = False


def classify_status(status: int) -> str:
    """The default classification of an HTTP status."""
    if status == 401:
        return "authentication"
    if status == 403:
        return "authorization"
    if status in (404, 410):
        return "not_found"
    if status in (400, 409, 413, 415, 422):
        return "validation"
    if status == 429:
        return "rate_limited"
    if status in (502, 503, 504):
        return "transient"
    if status in (405, 406, 501):
        return "permanent"
    return "unknown"


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status (``Error`` for codes without one)."""
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


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
        out["headers"] = {str(k): str(v) for k, v in headers.items()}
    return out


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


_BUILTIN_TYPES: dict[type[BaseException], ProblemSpec] = {
    TimeoutError: ProblemSpec(504, classification="transient"),
    ConnectionError: ProblemSpec(503, classification="transient"),
    PermissionError: ProblemSpec(403, classification="authorization"),
    NotImplementedError: ProblemSpec(501, classification="permanent"),
}

_BUILTIN_NAMES: dict[str, ProblemSpec] = {
    "starlette.exceptions.HTTPException": ProblemSpec(500, extract=_http_exception),
    "werkzeug.exceptions.HTTPException": ProblemSpec(500, extract=_http_exception),
    "rest_framework.exceptions.APIException": ProblemSpec(500, extract=_http_exception),
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

_VERDICT = {
    "transient": "failure",
    "unknown": "failure",
    "permanent": "failure",
    "rate_limited": "ignore",
}

_code_registrations: dict[type[BaseException], ProblemSpec] = {}


def problem(
    status: int,
    title: str | None = None,
    *,
    type: str = "about:blank",
    detail: str | Callable[[BaseException], str | None] | None = None,
    headers: Mapping[str, str] | None = None,
    classification: str | None = None,
) -> Callable[[E], E]:
    """Class decorator: answer this exception (and subclasses) with the given problem.

    >>> @seawall.problem(409, "Out of stock")
    ... class OutOfStock(Exception): ...
    """

    def register(cls: E) -> E:
        _code_registrations[cls] = ProblemSpec(
            status, title, type, detail, dict(headers or {}), classification
        )
        return cls

    return register


class ProblemRegistry:
    """Finds the spec for an exception (MRO, cached per class) and builds its problem."""

    def __init__(self, mappings: Mapping[type[BaseException], ProblemSpec] | None = None) -> None:
        self._own = dict(mappings or {})
        self._cache: dict[type[BaseException], ProblemSpec | None] = {}

    @classmethod
    def from_settings(cls, settings: ErrorsSettings | None = None) -> ProblemRegistry:
        mappings = {
            exc_type: ProblemSpec(
                m.status, m.title, m.type, m.detail, dict(m.headers), m.classification
            )
            for exc_type, m in (settings.map.items() if settings else ())
        }
        return cls(mappings)

    def register(self, exc_type: type[BaseException], spec: ProblemSpec) -> None:
        """Add or replace a mapping (wins over code registrations and built-ins)."""
        self._own[exc_type] = spec
        self._cache.clear()

    def spec_for(self, exc_type: type[BaseException]) -> ProblemSpec | None:
        if exc_type in self._cache:
            return self._cache[exc_type]
        found = None
        for table in (self._own, _code_registrations, _BUILTIN_TYPES):
            found = next((table[c] for c in exc_type.__mro__ if c in table), None)
            if found is not None:
                break
        if found is None:
            for klass in exc_type.__mro__:
                found = _BUILTIN_NAMES.get(f"{klass.__module__}.{klass.__qualname__}")
                if found is not None:
                    break
        if len(self._cache) < 4096:
            self._cache[exc_type] = found
        return found

    def classify(self, exc: BaseException) -> str:
        """The classification of an exception (what kind of failure it is)."""
        if isinstance(exc, SeawallRejection):
            return "validation" if isinstance(exc, InvalidCorrelationIdError) else "transient"
        spec = self.spec_for(type(exc))
        if spec is None:
            return "unknown"
        if spec.classification:
            return spec.classification
        status = spec.extract(exc).get("status", spec.status) if spec.extract else spec.status
        return classify_status(status)

    def answered(self, exc: BaseException) -> bool:
        """True when the framework has already answered the request that raised ``exc``."""
        spec = self.spec_for(type(exc))
        return spec is not None and spec.answered

    def classify_for_breaker(self, exc: BaseException) -> str:
        """``failure``, ``success`` or ``ignore`` for a circuit breaker."""
        return _VERDICT.get(self.classify(exc), "success")

    def to_problem(
        self,
        exc: BaseException,
        *,
        correlation_id: str | None,
        instance: str | None,
        debug: bool = False,
        redact: Redact = str,
    ) -> Problem:
        """Build the problem for ``exc``: 5xx never show exception text, 4xx show safe text."""
        extensions: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if isinstance(exc, SeawallRejection):
            status, title, detail = exc.status, exc.title, exc.detail
            type_uri = TYPE_BASE + exc.reason
            classification = "validation" if status == 400 else "transient"
            extensions["reason"] = exc.reason
            headers["Cache-Control"] = "no-store"
            if exc.retry_after is not None:
                headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        else:
            spec = self.spec_for(type(exc)) or ProblemSpec(500)
            extracted = spec.extract(exc) if spec.extract else {}
            status = extracted.get("status", spec.status)
            title = spec.title if spec.title and "status" not in extracted else phrase(status)
            type_uri = spec.type
            classification = spec.classification or classify_status(status)
            detail = None
            if status < 500:
                raw = extracted.get("detail")
                if raw is None:
                    raw = spec.detail(exc) if callable(spec.detail) else spec.detail
                detail = redact(raw) if raw else GENERIC_DETAIL.get(status)
            else:
                fixed = spec.detail if isinstance(spec.detail, str) else None
                detail = fixed or GENERIC_DETAIL.get(status, GENERIC_DETAIL[500])
            if "errors" in extracted:
                extensions["errors"] = [
                    {k: (redact(v) if isinstance(v, str) else v) for k, v in e.items()}
                    for e in extracted["errors"]
                ]
            headers.update(spec.headers)
            headers.update(extracted.get("headers", {}))
            if classification == "transient" and "Retry-After" not in headers:
                headers.setdefault("Cache-Control", "no-store")
        extensions["correlation_id"] = correlation_id
        extensions["error_id"] = secrets.token_hex(16)
        if debug:
            extensions["exception"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
            extensions["message"] = redact(_safe_str(exc))
        return Problem(
            status=status,
            title=title,
            type=type_uri,
            detail=detail,
            instance=instance,
            extensions=extensions,
            headers=headers,
            classification=classification,
        )

    def problem_for_status(
        self, status: int, *, correlation_id: str | None, instance: str | None
    ) -> Problem:
        """A problem for an error response the framework made without an exception."""
        fallback = GENERIC_DETAIL[500] if status >= 500 else None
        detail = GENERIC_DETAIL.get(status, fallback)
        return Problem(
            status=status,
            title=phrase(status),
            detail=detail,
            instance=instance,
            extensions={"correlation_id": correlation_id, "error_id": secrets.token_hex(16)},
            classification=classify_status(status),
        )


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__}: str() failed>"
