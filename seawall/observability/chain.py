"""Whether seawall's log events pass a redacting processor, and what they carry pre-redacted.

The error event's message, causes and traceback are redacted when the event is built; the
redacting processor need not redo them. Which fields those are travels beside the event, in a
context variable set only while seawall logs it, never inside the event: a chain without
seawall's processor would print an internal key otherwise. The same marker tells seawall whether
a redacting processor saw the event; if none did and none is configured, it warns once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["Marker", "current_marker", "is_quiet", "logged", "pre_redacted", "quieted"]

_warned = False
_quiet = [0]  # how many quiet blocks are open, in any thread (tests use servers in threads)
_quiet_lock = threading.Lock()


@contextmanager
def quieted() -> Iterator[None]:
    """While open (in any thread), seawall writes no log events; the bus still publishes."""
    with _quiet_lock:
        _quiet[0] += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet[0] -= 1


def is_quiet() -> bool:
    return _quiet[0] > 0


class Marker:
    """One event being logged: its error id, the fields already redacted, and whether a
    redacting processor saw it."""

    __slots__ = ("error_id", "safe", "seen")

    def __init__(self, error_id: object, safe: Collection[str]) -> None:
        self.error_id = error_id
        self.safe = safe
        self.seen = False


_CURRENT: ContextVar[Marker | None] = ContextVar("seawall_log_marker", default=None)


current_marker = _CURRENT.get
"""The marker of the event seawall is logging now, or None: the redacting processor's test
for "not one of seawall's events", a call into C with no Python frame (records are many)."""


def pre_redacted(event_dict: Mapping[str, Any]) -> Collection[str]:
    """For the redacting processor: the fields of ``event_dict`` seawall redacted already
    (none for any event but the one seawall is logging now), and note that it was seen."""
    marker = _CURRENT.get()
    if marker is None:
        return ()
    marker.seen = True
    return marker.safe if event_dict.get("error_id") == marker.error_id else ()


def logged(log: Any, fields: dict[str, Any], safe: Collection[str] = ()) -> None:
    """Call ``log(**fields)`` with the marker set; warn once if no redactor saw the event."""
    marker = Marker(fields.get("error_id"), safe)
    token = _CURRENT.set(marker)
    try:
        log(**fields)
    finally:
        _CURRENT.reset(token)
    if not marker.seen and not _warned:
        _warn_unless_configured()


def _warn_unless_configured() -> None:
    """The event went through no redacting processor here; unless one is configured (it may
    run later, in a queue listener, or the event was filtered out), say so once."""
    global _warned
    from seawall.observability.logging import chain_redacts

    if chain_redacts():
        return
    _warned = True
    logging.getLogger("seawall.logging").warning(
        "seawall's log events pass through a structlog chain without redaction: add "
        "seawall.logging.redact_event before the renderer (or call seawall.logging.configure())"
    )
