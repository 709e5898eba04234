"""Host patterns: exact names and ``*.suffix`` (any subdomain of ``suffix``, not itself)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["HostTable"]

T = TypeVar("T")

_CACHE_LIMIT = 1024


class HostTable(Generic[T]):
    """The value of the pattern a host matches; exact names win over the longest suffix.

    Lookups are cached (up to 1024 hosts), so a client calling few hosts pays one dict read.
    """

    __slots__ = ("_cache", "_exact", "_suffixes")

    def __init__(self, entries: Iterable[tuple[str, T]] = ()) -> None:
        self._exact: dict[str, T] = {}
        suffixes: list[tuple[str, T]] = []
        for pattern, value in entries:
            pattern = pattern.lower()
            if pattern.startswith("*."):
                suffixes.append((pattern[1:], value))  # ".example.com"
            else:
                self._exact.setdefault(pattern, value)
        self._suffixes = sorted(suffixes, key=lambda item: -len(item[0]))
        self._cache: dict[str, T | None] = {}

    def get(self, host: str) -> T | None:
        """The value for ``host`` (any case, with or without a trailing dot), or ``None``."""
        try:
            return self._cache[host]
        except KeyError:
            pass
        name = host.lower().rstrip(".")
        found = self._exact.get(name)
        if found is None:
            found = next((v for suffix, v in self._suffixes if name.endswith(suffix)), None)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[host] = found
        return found
