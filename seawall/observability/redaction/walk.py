"""The structure walk: a redacted copy of nested mappings and sequences, bounded in depth and
size, with cycles cut.

It runs for every value of every event, so it is built once per redactor out of closures
(their variables are the cheapest lookups Python has), and its loops handle strings and
scalars in place instead of with a call per value. What a string, a key or any other value
becomes is up to the functions the redactor passes in.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

__all__ = ["KeyInfo", "make_walk"]

KeyInfo = tuple[str, "str | None", bool]
"""A key as it may be logged, the placeholder for its value if the key is sensitive, and
whether that placeholder applies only to a credential-shaped value (``HEROKU_KEY``)."""

_Walk = Callable[[Any, int, "set[int] | None", dict[str, str]], Any]
"""``walk(obj, depth, seen, done)``: ``obj`` redacted. ``seen`` holds the ids of the containers
above it (``None``: not tracked), ``done`` the strings redacted so far in this walk (records
repeat their fields, and traces their queries and URLs, so each distinct string is redacted
once)."""

_SCALARS = frozenset({bool, int, float})
_NAMES = frozenset({str, bytes})
# Never walked as containers, whatever else they are: ``leaf`` renders them.
_LEAVES = (str, int, float, bytes, bytearray, memoryview, BaseException, logging.LogRecord)


def make_walk(
    text: Callable[[str], str],
    texts: Mapping[str, str],
    key: Callable[[Any], KeyInfo],
    keys: Mapping[str, KeyInfo],
    leaf: Callable[[Any], Any],
    gate: Callable[[Any], bool],
    max_depth: int,
    max_items: int,
) -> Callable[[Any], Any]:
    """The walk. ``text`` redacts a string, ``texts`` holds results it cached; ``key`` gives a
    key's :data:`KeyInfo`, and ``keys`` caches those by key; ``leaf`` redacts what is neither
    a mapping nor a sequence; ``gate`` says whether a value is credential-shaped. Named tuples
    and dataclasses are walked as mappings of their fields, and ``(name, value)`` pairs (ASGI
    header lists) by their name. A value that fails to redact becomes a marker, and only that
    value."""

    def redacted(value: str, done: dict[str, str]) -> str:
        result = done[value] = text(value)
        return result

    def walk(obj: Any, depth: int, seen: set[int] | None, done: dict[str, str]) -> Any:
        try:
            kind = type(obj)
            if kind is str:
                return texts.get(obj) or done.get(obj) or redacted(obj, done)
            if obj is None or kind in _SCALARS:
                return obj
            items: _Walk
            if kind is dict:
                items = mapping
            elif kind is list or kind is tuple:
                if (
                    len(obj) == 2
                    and type(obj[0]) in _NAMES
                    and (kind is tuple or type(obj[0]) is bytes)
                ):
                    hidden = pair(obj)
                    if hidden is not None:
                        return hidden
                items = sequence
            elif isinstance(obj, _LEAVES):
                return leaf(obj)
            elif isinstance(obj, Mapping):
                items = mapping
            elif (fields := _fields(obj)) is not None:
                obj, items = fields, mapping
            elif isinstance(obj, list | tuple | set | frozenset):
                items = sequence
            else:
                return leaf(obj)
            if depth >= max_depth:
                if seen is None:
                    raise _DepthReached
                return "[REDACTED:too_deep]"
            if seen is None:
                return items(obj, depth, seen, done)
            marker = id(obj)
            if marker in seen:
                return "[REDACTED:cycle]"
            seen.add(marker)
            try:
                return items(obj, depth, seen, done)
            finally:
                seen.discard(marker)
        except _DepthReached:
            raise
        except RecursionError:
            if seen is None:  # a cycle under a depth bound above Python's recursion limit
                raise _DepthReached from None
            return "[REDACTED:unredactable]"
        except Exception:
            return "[REDACTED:unredactable]"

    pair = _pairs(key, keys, gate)
    mapping, sequence = _containers(walk, redacted, texts, key, keys, gate, max_items)

    def redact(obj: Any) -> Any:
        # Cycles are rare, so the path is not tracked at first. A walk through a cycle always
        # reaches the depth bound (or the recursion limit); only such a walk runs again, with
        # the path tracked, so the output is the same as if it always were.
        done: dict[str, str] = {}
        try:
            return walk(obj, 0, None, done)
        except _DepthReached:
            return walk(obj, 0, set(), done)

    return redact


def _pairs(
    key: Callable[[Any], KeyInfo], keys: Mapping[str, KeyInfo], gate: Callable[[Any], bool]
) -> Callable[[Any], list[Any] | None]:
    """For the walk: a ``(name, value)`` pair with a sensitive name becomes the name and the
    placeholder; any other pair gives None (it is walked as a sequence)."""

    def pair(obj: Any) -> list[Any] | None:
        name = obj[0].decode("latin-1") if type(obj[0]) is bytes else obj[0]
        logged, placeholder, gated = keys.get(name) or key(name)
        value = obj[1]
        if placeholder is None or value is None or value in ("", b""):
            return None
        if gated and not gate(value.decode("latin-1") if type(value) is bytes else value):
            return None
        return [logged, placeholder]

    return pair


def _containers(
    walk: _Walk,
    redacted: Callable[[str, dict[str, str]], str],
    texts: Mapping[str, str],
    key: Callable[[Any], KeyInfo],
    keys: Mapping[str, KeyInfo],
    gate: Callable[[Any], bool],
    max_items: int,
) -> tuple[_Walk, _Walk]:
    """The loops over a mapping's and a sequence's items, for the walk above."""

    def sequence(
        obj: Iterable[Any], depth: int, seen: set[int] | None, done: dict[str, str]
    ) -> list[Any]:
        items = list(obj)
        out = [
            (texts.get(item) or done.get(item) or redacted(item, done))
            if type(item) is str
            else walk(item, depth + 1, seen, done)
            for item in items[:max_items]
        ]
        if len(items) > max_items:
            out.append(f"[REDACTED:{len(items) - max_items} more items]")
        return out

    def mapping(
        obj: Mapping[Any, Any], depth: int, seen: set[int] | None, done: dict[str, str]
    ) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        pairs = iter(obj.items())
        # A dict's length is exact, so within the limit its items need no counting.
        exact = type(obj) is dict and len(obj) <= max_items
        for name, value in pairs if exact else islice(pairs, max_items):
            logged, placeholder, gated = (keys.get(name) if isinstance(name, str) else None) or key(
                name
            )
            if logged is not name and logged != name and logged in out:
                # Two secret keys redact alike ({"ann@x.org": 1, "bob@x.org": 2}): keep both.
                logged = _distinct(logged, out)
            kind = type(value)
            if (
                placeholder is not None
                and value is not None
                and value != ""
                and (not gated or gate(value))
            ):
                out[logged] = placeholder
            elif kind is str:
                out[logged] = texts.get(value) or done.get(value) or redacted(value, done)
            elif value is None or kind in _SCALARS:
                out[logged] = value
            else:
                out[logged] = walk(value, depth + 1, seen, done)
        for _ in pairs:  # a key beyond the limit
            out["[REDACTED:more]"] = f"{len(obj) - max_items} more keys"
            break
        return out

    return mapping, sequence


def _distinct(logged: Any, out: dict[Any, Any]) -> str:
    """``logged`` numbered past the keys already in ``out``: ``[REDACTED:email] (2)``."""
    number = 2
    while f"{logged} ({number})" in out:
        number += 1
    return f"{logged} ({number})"


def _fields(obj: Any) -> dict[str, Any] | None:
    """A named tuple's or a dataclass instance's fields by name, or None for anything else."""
    if isinstance(obj, tuple):
        names = getattr(type(obj), "_fields", None)
        return dict(zip(names, obj, strict=False)) if isinstance(names, tuple) else None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return None


class _DepthReached(Exception):
    """Raised by an untracked walk at the depth bound, where a tracked one must take over."""
