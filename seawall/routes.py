"""Route keys, templates and the policy table: which policy governs ``METHOD /path``.

Keys are ``"METHOD /template"`` or ``"/template"`` (any method). Templates use ``{param}``
segments and a trailing ``*`` for prefixes; Flask (``/items/<int:id>``) and Django
(``items/<int:id>/``) syntax is accepted too, so adapters and settings can use the
framework's own spelling. State is only ever kept per configured key, never per raw URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["RouteKey", "RouteTable", "normalize_template", "parse_route_key"]

P = TypeVar("P")

METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "WEBSOCKET"}
)
PARAM = "{}"
_ANGLE = re.compile(r"<(?:[A-Za-z_][A-Za-z0-9_]*:)?([A-Za-z_][A-Za-z0-9_]*)>")
_BRACE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")


@dataclass(frozen=True, slots=True)
class RouteKey:
    """A parsed route key: method (``None`` = any), segments, and whether it is a prefix."""

    method: str | None
    segments: tuple[str, ...]  # literal text, or PARAM for a ``{param}`` segment
    prefix: bool
    text: str

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Higher sorts first: exact over prefix, more literals, more segments, a method."""
        literals = sum(1 for s in self.segments if s != PARAM)
        return (0 if self.prefix else 1, literals, len(self.segments), self.method is not None)


def normalize_template(template: str) -> tuple[tuple[str, ...], bool]:
    """Turn any supported template spelling into (segments, is_prefix).

    ``/items/<int:id>/``, ``items/<id>/`` and ``/items/{id}`` all give ``("items", "{}")``.
    A trailing ``*`` or a Starlette ``{rest:path}`` parameter makes a prefix template.
    """
    text = template.strip()
    if not text.startswith("/"):
        text = "/" + text
    prefix = False
    if text.endswith("*"):
        prefix = True
        text = text[:-1]
    text = _ANGLE.sub(r"{\1}", text)
    parts = [p for p in text.split("/") if p]
    segments: list[str] = []
    for index, part in enumerate(parts):
        match = _BRACE.fullmatch(part)
        if match is None:
            if "{" in part or "}" in part or "*" in part:
                raise ValueError(
                    f"segment {part!r} of {template!r} mixes text and a parameter, or has a '*' "
                    "that is not at the end"
                )
            segments.append(part)
        elif match.group(2) == "path":
            if index != len(parts) - 1:
                raise ValueError(f"a {{name:path}} parameter must end the template {template!r}")
            prefix = True
        else:
            segments.append(PARAM)
    return tuple(segments), prefix


def parse_route_key(key: str) -> RouteKey:
    """Parse ``"GET /items/{id}"`` or ``"/admin/*"``; raise ``ValueError`` saying what is wrong."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError("a route key is 'METHOD /template' or '/template'")
    method: str | None = None
    template = key.strip()
    head, sep, rest = template.partition(" ")
    if sep:
        method = head.upper()
        template = rest.strip()
        if method not in METHODS:
            raise ValueError(f"unknown method {head!r} in route key {key!r}")
    if " " in template:
        raise ValueError(f"route key {key!r} has spaces inside its template")
    segments, prefix = normalize_template(template)
    return RouteKey(method=method, segments=segments, prefix=prefix, text=key)


@dataclass(slots=True)
class _Node(Generic[P]):
    literal: dict[str, _Node[P]] = field(default_factory=dict)
    param: _Node[P] | None = None
    exact: list[tuple[RouteKey, P]] = field(default_factory=list)
    prefix: list[tuple[RouteKey, P]] = field(default_factory=list)


class RouteTable(Generic[P]):
    """Compiled once from ``(key, policy)`` pairs; finds the most specific entry for a request.

    ``match_path`` walks a segment trie for raw paths (plain ASGI/WSGI apps);
    ``match_template`` looks up a framework's route template, cached per template (bounded,
    since templates come from the app's router, not from clients).
    """

    def __init__(self, entries: Iterable[tuple[str, P]], default: P) -> None:
        self.default = default
        self._root: _Node[P] = _Node()
        self._entries: list[tuple[RouteKey, P]] = []
        self._template_cache: dict[tuple[str, str], tuple[str | None, P]] = {}
        for text, policy in entries:
            key = parse_route_key(text)
            self._entries.append((key, policy))
            node = self._root
            for segment in key.segments:
                if segment == PARAM:
                    node.param = node.param or _Node()
                    node = node.param
                else:
                    node = node.literal.setdefault(segment, _Node())
            (node.prefix if key.prefix else node.exact).append((key, policy))
        for node in self._walk(self._root):
            node.exact.sort(key=lambda kp: kp[0].specificity, reverse=True)
            node.prefix.sort(key=lambda kp: kp[0].specificity, reverse=True)
        self.empty = not self._entries

    @staticmethod
    def _walk(node: _Node[P]) -> Iterable[_Node[P]]:
        stack = [node]
        while stack:
            current = stack.pop()
            yield current
            stack.extend(current.literal.values())
            if current.param is not None:
                stack.append(current.param)

    def match_path(self, method: str, path: str) -> tuple[str | None, P]:
        """Return ``(key text, policy)`` for a raw path, or ``(None, default)``."""
        if self.empty:
            return None, self.default
        segments = [s for s in path.split("/") if s]
        best = self._search(self._root, segments, 0, method)
        if best is None:
            return None, self.default
        return best[0].text, best[1]

    def match_template(self, method: str, template: str) -> tuple[str | None, P]:
        """Return ``(key text, policy)`` for a framework route template in any supported syntax."""
        cache_key = (method, template)
        found = self._template_cache.get(cache_key)
        if found is not None:
            return found
        if self.empty:
            return None, self.default
        segments, prefix = normalize_template(template)
        # A template matches the key that would match a path made of its own segments.
        best = self._search(self._root, list(segments), 0, method, template_prefix=prefix)
        result = (None, self.default) if best is None else (best[0].text, best[1])
        if len(self._template_cache) < 10_000:
            self._template_cache[cache_key] = result
        return result

    def _search(
        self,
        node: _Node[P],
        segments: Sequence[str],
        index: int,
        method: str,
        *,
        template_prefix: bool = False,
    ) -> tuple[RouteKey, P] | None:
        """Depth-first, literal before parameter; the first hit is the most specific."""
        candidates: list[tuple[RouteKey, P]] = []
        if index == len(segments):
            if not template_prefix:
                hit = _first_for_method(node.exact, method)
                if hit is not None:
                    return hit
        else:
            segment = segments[index]
            child = node.literal.get(segment) if segment != PARAM else None
            if child is not None:
                hit = self._search(child, segments, index + 1, method, template_prefix=template_prefix)
                if hit is not None:
                    candidates.append(hit)
            if node.param is not None:
                hit = self._search(
                    node.param, segments, index + 1, method, template_prefix=template_prefix
                )
                if hit is not None:
                    candidates.append(hit)
            if candidates:
                return max(candidates, key=lambda kp: kp[0].specificity)
        return _first_for_method(node.prefix, method)


def _first_for_method(
    entries: list[tuple[RouteKey, P]], method: str
) -> tuple[RouteKey, P] | None:
    for key, policy in entries:
        if key.method is None or key.method == method or (key.method == "GET" and method == "HEAD"):
            return key, policy
    return None
