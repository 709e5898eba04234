"""What every dead-letter backend offers: the SQLite file and the Redis streams alike."""

from __future__ import annotations

from typing import Protocol

from seawall.dead_letter.entry import Entry

__all__ = ["Store"]


class Store(Protocol):
    """A durable queue of entries. ``claim`` leases one entry to one replayer at a time, so
    two replayers never run the same entry; a lease that runs out frees the entry again."""

    def add(self, entry: Entry) -> Entry:
        """Store ``entry`` (its ``id`` is ignored) and return it with the id it got; durable
        once this returns."""
        ...

    def get(self, id: str) -> Entry | None: ...

    def entries(self, queue: str | None = None, limit: int | None = None) -> list[Entry]:
        """Entries oldest first, of one queue or all."""
        ...

    def ids(self, queue: str | None = None, due_by: float | None = None) -> list[str]:
        """The ids of replayable entries, oldest first; only those due by ``due_by`` if set."""
        ...

    def claim(self, id: str, *, now: float, lease: float) -> Entry | None:
        """Lease entry ``id`` for ``lease`` seconds; ``None`` when it is gone or leased."""
        ...

    def complete(self, entry: Entry) -> None:
        """Remove a claimed entry: its replay succeeded."""
        ...

    def reschedule(self, entry: Entry) -> None:
        """Store the claimed entry's new state (attempts, errors, next try) and free it."""
        ...

    def purge(self, created_before: float) -> int:
        """Remove entries created before ``created_before``; how many went."""
        ...

    def depths(self) -> dict[str, int]:
        """The number of entries per queue."""
        ...

    def close(self) -> None: ...
