"""The root URLconf's patterns as ``resolver_match.route`` spells them, with their views:
what the start-up checks compare settings against."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["url_patterns"]


def url_patterns() -> list[tuple[str, Any]]:
    """``(route, view)`` of every URL pattern, included ones with their prefix."""
    from django.urls import get_resolver

    try:
        patterns = list(get_resolver().url_patterns)
    except Exception:  # a broken URLconf: Django's own checks report it
        return []
    return list(_walk(patterns, ""))


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        inner = getattr(pattern, "url_patterns", None)
        if inner is None:
            yield route, getattr(pattern, "callback", None)
        else:
            yield from _walk(list(inner), route)
