"""Route keys, templates and the policy table: which policy governs ``METHOD /path``.

Keys are ``"METHOD /template"`` or ``"/template"`` (any method). Templates use ``{param}``
segments and a trailing ``*`` for prefixes; Flask (``/items/<int:id>``) and Django
(``items/<int:id>/``) syntax is accepted too, so adapters and settings can use the
framework's own spelling. State is only ever kept per configured key, never per raw URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote

__all__ = ["RouteKey", "RouteTable", "normalize_template", "parse_route_key"]

P = TypeVar("P")

METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "WEBSOCKET"}
)
PARAM = "{}"
_ANGLE = re.compile(r"<(?:([A-Za-z_][A-Za-z0-9_]*)(?:\([^()<>]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>")
"""A Flask/Django parameter: ``<id>``, ``<int:id>``, Werkzeug's ``<string(length=2):code>``."""
_BRACE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")
_UNMATCHABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\s\u2028\u2029]")
"""Whitespace and control characters: never part of a key (a tab, a newline, a stray space)."""
_SCHEME_OR_HOST = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
"""``%2F``: servers decode the path before any key sees it, so such a key never matches."""


@dataclass(frozen=True, slots=True)
class RouteKey:
    """A parsed route key: method (``None`` = any), segments, and whether it is a prefix."""

    method: str | None
    segments: tuple[str, ...]  # literal text, or PARAM for a ``{param}`` segment
    prefix: bool
    text: str

    @property
    def template(self) -> str:
        """The template in seawall's own spelling (``/items/{}``, ``/admin/*``), for messages."""
        text = "/" + "/".join(self.segments)
        if not self.prefix:
            return text
        return text + "/*" if self.segments else "/*"

    @property
    def specificity(self) -> tuple[int, int, int, bool, bool]:
        """Higher sorts first: exact over prefix, more literals, more segments, a method, and
        one method over ``GET`` (which covers ``HEAD`` too, so ``HEAD /x`` beats ``GET /x``)."""
        literals = sum(1 for s in self.segments if s != PARAM)
        method = self.method
        single = method is not None and method != "GET"
        return (0 if self.prefix else 1, literals, len(self.segments), method is not None, single)


def normalize_template(template: str) -> tuple[tuple[str, ...], bool]:
    """Turn any supported template spelling into (segments, is_prefix).

    ``/items/<int:id>/``, ``items/<id>/`` and ``/items/{id}`` all give ``("items", "{}")``.
    A trailing ``*``, a Starlette ``{rest:path}`` or a Flask/Django ``<path:rest>`` parameter
    makes a prefix template (a ``<path:...>`` inside a template stands for one segment).
    """
    text = template.strip()
    if not text.startswith("/"):
        text = "/" + text
    prefix = False
    if text.endswith("*"):
        prefix = True
        text = text[:-1]
    parts = [p for p in text.split("/") if p]
    if parts and (last := _ANGLE.fullmatch(parts[-1])) is not None and last.group(1) == "path":
        # Flask's and Django's <path:rest> takes the rest of the path, slashes included.
        parts[-1] = f"{{{last.group(2)}:path}}"
    parts = [_ANGLE.sub(r"{\2}", p) for p in parts]
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
    if template.upper() in METHODS:
        raise ValueError(f"route key {key!r} names a method but no template")
    _check_matchable(key, template)
    segments, prefix = normalize_template(template)
    return RouteKey(method=method, segments=segments, prefix=prefix, text=key)


def _check_matchable(key: str, template: str) -> None:
    """Refuse keys no request path can ever match: paths carry no query, host or whitespace."""
    bad = _UNMATCHABLE.search(template)
    if bad is not None:
        if bad.group() == " ":
            raise ValueError(f"route key {key!r} has spaces inside its template")
        raise ValueError(
            f"route key {key!r} holds the character {bad.group()!r}: a key is 'METHOD /template'"
            " with one space and no tabs, newlines or other control characters"
        )
    if _SCHEME_OR_HOST.match(template):
        raise ValueError(
            f"route key {key!r} names a scheme or host: keys match the path only ('/items/{{id}}')"
        )
    encoded = _PERCENT_ENCODED.search(template)
    if encoded is not None:
        raise ValueError(
            f"route key {key!r} holds the percent-encoded {encoded.group()!r}: keys match the"
            f" decoded path, so write {unquote(encoded.group())!r} itself"
        )
    for mark, what in (("?", "a query string"), ("#", "a fragment")):
        if mark in template:
            raise ValueError(
                f"route key {key!r} holds {what} ({mark!r}): keys match the path only, and a"
                " request's path never contains one"
            )


_PATH_CACHE_SIZE = 2048
"""Raw paths whose match is remembered; the cache starts over when full (memory stays flat)."""


class RouteTable(Generic[P]):
    """Compiled once from ``(key, policy)`` pairs; finds the most specific entry for a request.

    All keys become one regular expression over ``"METHOD /path"`` whose alternatives are
    sorted by specificity, so the first alternative that matches is the most specific key.
    ``match_template`` looks up a framework's route template, cached per template (bounded:
    templates come from the app's router, not from clients); raw paths are cached too, in a
    cache that starts over when full.
    """

    def __init__(self, entries: Iterable[tuple[str, P]], default: P) -> None:
        self.default = default
        parsed = [(parse_route_key(text), policy) for text, policy in entries]
        parsed.sort(key=lambda kp: kp[0].specificity, reverse=True)
        self._entries = parsed
        self._template_cache: dict[tuple[str, str], tuple[str | None, P]] = {}
        self._path_cache: dict[str, dict[str, tuple[str | None, P]]] = {}  # method, path
        self._cached = 0  # entries in _path_cache
        self.empty = not parsed
        alternatives = [f"(?P<r{i}>{_key_pattern(key)})" for i, (key, _) in enumerate(parsed)]
        # DOTALL: a decoded path may hold any character, a newline included (``%0A``).
        self._match = re.compile("|".join(alternatives) or "(?!)", re.DOTALL).fullmatch
        self._results: dict[str, tuple[str | None, P]] = {
            f"r{i}": (key.text, policy) for i, (key, policy) in enumerate(parsed)
        }

    def match_path(self, method: str, path: str) -> tuple[str | None, P]:
        """Return ``(key text, policy)`` for a raw path, or ``(None, default)``."""
        if self.empty:
            return None, self.default
        # By method, then path: two lookups by str are cheaper than building, hashing and
        # comparing a (method, path) tuple (or the subject string) for every request.
        paths = self._path_cache.get(method)
        if paths is not None:
            result = paths.get(path)
            if result is not None:
                return result
        return self._match_uncached(method, path)

    def _match_uncached(self, method: str, path: str) -> tuple[str | None, P]:
        # Django and Werkzeug upper-case the method they route by: ``get`` is ``GET``.
        found = self._match(f"{method.upper()} {path}")
        result = (None, self.default) if found is None else self._results[found.lastgroup]  # type: ignore[index]
        if self._cached >= _PATH_CACHE_SIZE:
            self._path_cache.clear()  # bounded whatever the clients send
            self._cached = 0
        paths = self._path_cache.get(method)
        if paths is None:
            paths = self._path_cache[method] = {}
        paths[path] = result
        self._cached += 1
        return result

    def match_template(self, method: str, template: str) -> tuple[str | None, P]:
        """Return ``(key text, policy)`` for a framework route template in any supported syntax;
        a template seawall cannot read (a Django ``re_path`` regex) matches no key."""
        cache_key = (method, template)
        result = self._template_cache.get(cache_key)
        if result is None:
            try:
                segments, prefix = normalize_template(template)
            except ValueError:
                result = (None, self.default)
            else:
                # A template's parameters are spelled "{}": they match a key's {param}, no
                # literal; a template ending in a path parameter covers one segment more.
                path = "/" + "/".join((*segments, PARAM) if prefix else segments)
                result = self.match_path(method, path)
            if len(self._template_cache) < 10_000:
                self._template_cache[cache_key] = result
        return result


def _key_pattern(key: RouteKey) -> str:
    """The regex of one key over ``"METHOD /path"`` (trailing slashes are optional)."""
    if key.method is None:
        method = "[^ ]+"  # every method, extension methods (M-SEARCH, PROPFIND) included
    elif key.method == "GET":
        method = "(?:GET|HEAD)"
    else:
        method = key.method
    # Runs of slashes count as one (``//admin/x`` is ``/admin/x`` to many servers and proxies).
    path = "".join("/+[^/]+" if s == PARAM else "/+" + re.escape(s) for s in key.segments)
    tail = "(?:/.*)?" if key.prefix else "/*"
    return f"{method} {path}{tail}"
