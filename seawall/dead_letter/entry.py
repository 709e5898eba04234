"""One dead letter: an operation that failed for good, with what a replay needs to run it again.

Entries are plain data, the same for every backend. The payload is kept as given (a replay
needs it); :meth:`Entry.shown` is the view people read, with the payload redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Entry", "ErrorInfo", "backoff"]

# The wait before an entry's next try after a failed replay: doubling from 30 s, at most 6 h.
BACKOFF_BASE = 30.0
BACKOFF_CAP = 6 * 3600.0


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An error's class and its redacted message: never the raw text."""

    type: str
    message: str

    @classmethod
    def of(cls, exc: BaseException, redact: Callable[[str], str]) -> ErrorInfo:
        cls_ = type(exc)
        name = (
            cls_.__qualname__
            if cls_.__module__ == "builtins"
            else f"{cls_.__module__}.{cls_.__qualname__}"
        )
        try:
            text = str(exc)
        except Exception:
            text = "<unprintable>"
        return cls(name, redact(text)[:500])


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored dead letter. ``target`` is the dotted path of the callable a replay runs
    (``None`` for entries from :func:`seawall.dead_letter.put`, replayed by the queue's
    registered replayer); ``replayable`` is false when the arguments could not be stored."""

    id: str
    queue: str
    payload: Any
    idempotency_key: str
    created: float
    next_attempt: float
    attempts: int = 1
    target: str | None = None
    replayable: bool = True
    reason: str | None = None  # why it is not replayable
    first_error: ErrorInfo | None = None
    last_error: ErrorInfo | None = None
    correlation_id: str | None = None

    def failed_again(self, error: ErrorInfo, now: float) -> Entry:
        """This entry after one more failed try: attempts up, the next try backed off."""
        attempts = self.attempts + 1
        return replace(
            self, attempts=attempts, last_error=error, next_attempt=now + backoff(attempts)
        )

    def shown(self, redact: Callable[[Any], Any], *, raw: bool = False) -> dict[str, Any]:
        """The entry as a JSON-ready mapping, the payload redacted unless ``raw``."""
        data = {"id": self.id, **self.to_record()}
        if not raw:
            data["payload"] = redact(self.payload)
        return data

    def to_record(self) -> dict[str, Any]:
        """Every field but ``id`` as JSON-ready values, for the backends to store (the payload
        as given, not copied: :func:`dataclasses.asdict` would deep-copy it on every put)."""
        first, last = self.first_error, self.last_error
        return {
            "queue": self.queue,
            "payload": self.payload,
            "idempotency_key": self.idempotency_key,
            "created": self.created,
            "next_attempt": self.next_attempt,
            "attempts": self.attempts,
            "target": self.target,
            "replayable": self.replayable,
            "reason": self.reason,
            "first_error": None
            if first is None
            else {"type": first.type, "message": first.message},
            "last_error": None if last is None else {"type": last.type, "message": last.message},
            "correlation_id": self.correlation_id,
        }

    @classmethod
    def from_record(cls, id: str, data: Mapping[str, Any]) -> Entry:
        errors = {
            name: None if data.get(name) is None else ErrorInfo(**data[name])
            for name in ("first_error", "last_error")
        }
        return cls(id=id, **{**data, **errors})


def backoff(attempts: int) -> float:
    """Seconds before the next try of an entry that has failed ``attempts`` times."""
    return min(BACKOFF_BASE * 2.0 ** max(attempts - 1, 0), BACKOFF_CAP)
