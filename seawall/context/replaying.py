"""The dead-letter entry being replayed, as a context variable the call paths can read.

It lives apart from :mod:`seawall.dead_letter` so the dependency call path and the httpx
transports can ask "is this a replay?" without importing the queue: a replayed call that fails
is not stored again, a dependency's fallback does not answer for it, and its HTTP requests carry
the entry's ``Idempotency-Key``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seawall.dead_letter.entry import Entry

__all__ = ["REPLAYING", "replaying_queue"]

REPLAYING: ContextVar[Entry | None] = ContextVar("seawall.dead_letter.replaying", default=None)
"""The entry being replayed, during its call (``None`` otherwise)."""


def replaying_queue() -> str | None:
    """The queue (dependency name) of the entry being replayed, if any."""
    entry = REPLAYING.get()
    return None if entry is None else entry.queue
