"""What a dependency's failure is: its classification (may it be retried?) and its verdict for
the breaker, for exceptions and for HTTP responses.

Exceptions go through the app's problem registry (``errors.map`` classifications and the
built-ins: ``ConnectionError`` and ``TimeoutError`` are transient), plus httpx's transport
errors, recognised by class name so this module never imports httpx. Responses: the breaker's
failure statuses (500, 502, 503, 504) are transient failures, 429 a rate limit that the breaker
ignores, anything else an answer.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable

from seawall.errors.exceptions import RequestTimeoutError, SeawallRejection
from seawall.errors.problems import ProblemRegistry

__all__ = [
    "RATE_LIMITED",
    "TRANSIENT",
    "Classifier",
    "is_timeout",
    "parse_retry_after",
]

TRANSIENT = "transient"
RATE_LIMITED = "rate_limited"

_VERDICTS = {"transient": "failure", "unknown": "failure", "permanent": "failure"}
_TRANSIENT_NAMES = frozenset({"httpx.TransportError", "httpcore.ConnectError"})
_TIMEOUT_NAMES = frozenset({"httpx.TimeoutException", "httpcore.TimeoutException"})
_STATUS_ERROR_SET = frozenset({"httpx.HTTPStatusError"})


def _names(exc: BaseException) -> set[str]:
    return {f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__}


class Classifier:
    """Classifies one dependency's errors and responses; ``failure_statuses`` from its breaker."""

    __slots__ = ("_cache", "_problems", "failure_statuses")

    def __init__(self, problems: ProblemRegistry, failure_statuses: frozenset[int]) -> None:
        self._problems = problems
        self.failure_statuses = failure_statuses
        self._cache: dict[type[BaseException], str] = {}

    def classify(self, exc: BaseException) -> str:
        """``transient``, ``rate_limited``, ``permanent``, ``unknown``, ... for ``exc``."""
        if isinstance(exc, SeawallRejection):
            return TRANSIENT  # a nested dependency's refusal, or an attempt's timeout
        kind = type(exc)
        found = self._cache.get(kind)
        if found is not None:
            return found
        names = _names(exc)
        if names & _STATUS_ERROR_SET:
            response = getattr(exc, "response", None)
            status = getattr(response, "status_code", 500)
            return self.status(status) or "permanent"  # not cached: depends on the status
        if names & (_TRANSIENT_NAMES | _TIMEOUT_NAMES):
            found = TRANSIENT
        else:
            found = self._problems.classify(exc)
        if len(self._cache) < 1024:
            self._cache[kind] = found
        return found

    def verdict(self, exc: BaseException) -> str:
        """``failure``, ``ignore`` or ``success`` for the breaker (a 404 is not an outage)."""
        classification = self.classify(exc)
        if classification == RATE_LIMITED:
            return "ignore"
        return _VERDICTS.get(classification, "success")

    def status(self, status: int) -> str | None:
        """The classification of a response status, ``None`` for an answer to keep."""
        if status == 429:
            return RATE_LIMITED
        if status in self.failure_statuses:
            return TRANSIENT
        return None


def is_timeout(exc: BaseException) -> bool:
    """True for timeouts: ours, the stdlib's and httpx's."""
    if isinstance(exc, TimeoutError | RequestTimeoutError):
        return True
    return bool(_names(exc) & _TIMEOUT_NAMES)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds from now (delay-seconds or an HTTP date); ``None`` if absent
    or not valid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    seconds = when.timestamp() - now()
    return max(0.0, seconds) if math.isfinite(seconds) else None
