"""Stale-if-error: a route's last good responses, served while the route refuses requests.

A route with ``stale_if_error`` (seconds) remembers the last ``200`` answer to each ``GET``
URL and, while its breaker is open, its bulkhead full or its timeout hit, answers with it if it
is at most that old. Only what a shared cache may store is kept (RFC 9111): never a response
with ``Cache-Control: no-store``/``private`` or ``Set-Cookie``, nor one to a request with
``Authorization`` unless it says ``public``; ``Vary`` headers must match the new request, so a
``Vary: Cookie`` page is never served to another user. Entries and bodies are bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from seawall.clock import Clock, monotonic
from seawall.server.response import Rendered

__all__ = ["MAX_BODY", "MAX_ENTRIES", "Recording", "RequestHeader", "StaleStore", "url_of"]

MAX_ENTRIES = 128
"""URLs remembered per route (least recently stored first out)."""

MAX_BODY = 64 * 1024
"""Largest body remembered, in bytes: a bigger response is not kept."""

Headers = list[tuple[str, str]]
RequestHeader = Callable[[str], str | None]
"""The value of a request header by lower-case name, or ``None``."""

_DROPPED = frozenset({"age", "date", "connection", "keep-alive", "transfer-encoding"})


@dataclass(frozen=True, slots=True)
class _Entry:
    stored: float
    status: int
    headers: Headers
    body: bytes
    vary: tuple[tuple[str, str | None], ...]


class StaleStore:
    """The last good responses of one route, by URL; thread-safe, bounded, clock injected."""

    __slots__ = ("_clock", "_entries", "_lock", "max_age")

    def __init__(self, max_age: float, *, clock: Clock | None = None) -> None:
        self.max_age = max_age
        self._clock = clock or monotonic
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def offer(
        self, url: str, request: RequestHeader, status: int, headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> bool:  # fmt: skip
        """Remember a response to ``GET url`` if a shared cache may; True if it was kept."""
        if status != 200 or len(body) > MAX_BODY:
            return False
        kept: Headers = []
        vary_names: list[str] = []
        control = ""
        for name, value in headers:
            name = name.lower()
            if name == "set-cookie":
                return False
            if name == "cache-control":
                control += "," + value.lower()
            elif name == "vary":
                vary_names += [v.strip().lower() for v in value.split(",")]
            if name not in _DROPPED:
                kept.append((name, value))
        directives = {d.strip().split("=", 1)[0] for d in control.split(",")}
        if "no-store" in directives or "private" in directives or "*" in vary_names:
            return False
        if request("authorization") is not None and "public" not in directives:
            return False
        vary = tuple((name, request(name)) for name in vary_names if name)
        entry = _Entry(self._clock(), status, kept, body, vary)
        with self._lock:
            entries = self._entries
            entries[url] = entry
            entries.move_to_end(url)
            while len(entries) > MAX_ENTRIES:
                entries.popitem(last=False)
        return True

    def lookup(self, url: str, request: RequestHeader, reason: str) -> tuple[Rendered, int] | None:
        """The remembered answer to ``GET url`` and its age in seconds, if it is fresh enough
        and its ``Vary`` headers match ``request``; it carries ``Age`` and ``Seawall-Stale``."""
        entry = self._entries.get(url)
        if entry is None:
            return None
        age = self._clock() - entry.stored
        if age > self.max_age or any(request(name) != value for name, value in entry.vary):
            return None
        seconds = int(age)
        headers = [*entry.headers, ("age", str(seconds)), ("seawall-stale", reason)]
        return Rendered(entry.status, headers, entry.body), seconds


class Recording:
    """A ``200`` answer on its way out: its body chunks are kept as they are sent (given up past
    MAX_BODY) and the whole answer is offered to the store by :meth:`done`, once fully sent."""

    __slots__ = ("_chunks", "_headers", "_request", "_size", "_store", "_url")

    def __init__(
        self, store: StaleStore, url: str, request: RequestHeader, headers: Headers
    ) -> None:
        self._store = store
        self._url = url
        self._request = request
        self._headers = headers
        self._chunks: list[bytes] | None = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        chunks = self._chunks
        if chunks is not None and chunk:
            self._size += len(chunk)
            if self._size > MAX_BODY:
                self._chunks = None
            else:
                chunks.append(chunk)

    def done(self) -> None:
        if self._chunks is not None:
            body = b"".join(self._chunks)
            self._store.offer(self._url, self._request, 200, self._headers, body)


def url_of(path: str, query: str) -> str:
    """The store's key for a request: its path and query string."""
    return f"{path}?{query}" if query else path
