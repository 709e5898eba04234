"""Exceptions to RFC 9457 problems: a registry looked up along the class's MRO.

Order of precedence: settings (``errors.map``) over code registrations (``@problem``) over the
exceptions seawall knows already (:mod:`seawall.errors.known`); along the MRO the most specific
class wins.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from seawall.config.schema import ErrorsSettings
from seawall.errors.exceptions import InvalidCorrelationIdError, SeawallRejection
from seawall.errors.known import KNOWN_NAMES, KNOWN_TYPES
from seawall.errors.safe_text import safe_str
from seawall.errors.sendable import sendable_headers
from seawall.errors.spec import ProblemSpec

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
    dropped_headers: tuple[str, ...] = ()  # asked for by the exception, but unsendable


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
        for table in (self._own, _code_registrations, KNOWN_TYPES):
            found = next((table[c] for c in exc_type.__mro__ if c in table), None)
            if found is not None:
                break
        if found is None:
            for klass in exc_type.__mro__:
                found = KNOWN_NAMES.get(f"{klass.__module__}.{klass.__qualname__}")
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
        return classify_status(self._status(exc, spec))

    @staticmethod
    def _status(exc: BaseException, spec: ProblemSpec) -> int:
        """The status ``exc`` is answered with (a framework exception carries its own)."""
        status: int = _extract(spec, exc).get("status", spec.status)
        return status

    def answered(self, exc: BaseException) -> bool:
        """True when the framework has already answered the request that raised ``exc``."""
        spec = self.spec_for(type(exc))
        return spec is not None and spec.answered

    def classify_for_breaker(self, exc: BaseException) -> str:
        """``failure``, ``success`` or ``ignore`` for a circuit breaker.

        The answer's status decides first: a client error (4xx, raised or returned) is never the
        route's failure, and 429 (or a ``rate_limited`` mapping) frees its slot uncounted.
        """
        if isinstance(exc, SeawallRejection):
            return "failure"
        spec = self.spec_for(type(exc))
        if spec is None:
            return "failure"
        status = self._status(exc, spec)
        if status == 429 or spec.classification == "rate_limited":
            return "ignore"
        return "success" if status < 500 else "failure"

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
        dropped: list[str] = []
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
            extracted = _extract(spec, exc)
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
            asked = {**spec.headers, **(extracted.get("headers") or {})}
            if asked:
                sendable, dropped = sendable_headers(asked.items())
                headers.update(sendable)
            if classification == "transient" and "Retry-After" not in headers:
                headers.setdefault("Cache-Control", "no-store")
        extensions["correlation_id"] = correlation_id
        extensions["error_id"] = secrets.token_hex(16)
        if debug:
            extensions["exception"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
            extensions["message"] = redact(safe_str(exc))
        return Problem(
            status=status,
            title=title,
            type=type_uri,
            detail=detail,
            instance=instance,
            extensions=extensions,
            headers=headers,
            classification=classification,
            dropped_headers=tuple(dropped),
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


def _extract(spec: ProblemSpec, exc: BaseException) -> dict[str, Any]:
    """What a framework exception says of itself; nothing when its attributes cannot be read."""
    if spec.extract is None:
        return {}
    try:
        extracted = spec.extract(exc)
    except Exception:  # odd attributes (a property that raises) must not fail the answer
        return {}
    status = extracted.get("status")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        extracted.pop("status")
    return extracted
