"""A dead-letter queue for operations that failed for good, on SQLite (default) or Redis.

>>> from seawall import dead_letter
>>> dead_letter.put("mailer", {"to": "ann@example.com"}, error=exc)  # doctest: +SKIP

The process-wide queue opens at first use, from :func:`configure`'s settings, else from the
``SEAWALL_DEAD_LETTER__*`` environment (a SQLite file in the working directory by default).
A ``seawall.Dependencies`` with ``dead_letter: true`` dependencies that becomes the default
(each install with such settings makes one) configures it with its settings and bus.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from seawall.config.settings import Settings
from seawall.dead_letter.entry import Entry, ErrorInfo
from seawall.dead_letter.queue import DeadLetters, ReplayReport
from seawall.observability.events import BUS, EventBus

__all__ = [
    "DeadLetters",
    "Entry",
    "ErrorInfo",
    "ReplayReport",
    "configure",
    "default",
    "opened",
    "put",
    "replayer",
]

_lock = threading.Lock()
_settings: Settings | None = None
_events: EventBus = BUS
_default: DeadLetters | None = None
_replayers: dict[str, Callable[..., Any]] = {}


def configure(
    settings: Settings | Mapping[str, Any] | None, *, events: EventBus | None = None
) -> None:
    """Use ``settings`` for the process-wide queue, publishing on ``events`` (default: the
    process-wide bus). An open queue on the same ``dead_letter`` settings stays open (its
    redactor and bus follow); one on other settings is closed."""
    global _settings, _default, _events
    from seawall.observability.redaction import Redactor

    with _lock:
        _settings = Settings.coerce(settings)
        _events = events if events is not None else BUS
        if _default is not None:
            if _default.settings == _settings.dead_letter:
                _default.redactor = Redactor.from_settings(_settings.redaction)
                _default.events = _events
                return
            _default.close()
            _default = None


def default() -> DeadLetters:
    """The process-wide queue, opened at first use."""
    global _default
    with _lock:
        if _default is None:
            settings = _settings or Settings.from_env()
            from seawall.observability.redaction import Redactor

            _default = DeadLetters(
                settings.dead_letter,
                redactor=Redactor.from_settings(settings.redaction),
                events=_events,
            )
            for queue, fn in _replayers.items():
                _default.replayer(queue)(fn)
        return _default


def opened() -> DeadLetters | None:
    """The process-wide queue if it was opened, else ``None`` (never opens it)."""
    return _default


def put(
    queue: str,
    payload: Any,
    *,
    error: BaseException | None = None,
    idempotency_key: str | None = None,
) -> Entry:
    """Store ``payload`` in ``queue`` of the process-wide queue; durable once this returns.

    ``error`` is kept as its class and redacted message; the payload as given (a replay needs
    it), shown redacted. A replay passes it to the function :func:`replayer` registers."""
    return default().put(queue, payload, error=error, idempotency_key=idempotency_key)


def replayer(queue: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the function that replays ``queue``'s :func:`put` entries (process-wide)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        with _lock:
            _replayers[queue] = fn
            if _default is not None:
                _default.replayer(queue)(fn)
        return fn

    return register
