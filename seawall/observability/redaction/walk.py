"""The structure walk: a redacted copy of nested mappings and sequences, bounded in depth and
size, with cycles cut.

It runs for every value of every event, so it is one class whose methods call each other
directly once compiled, and its loops handle strings and scalars in place instead of with a
call per value. What a string, a key or any other value becomes is up to the functions the
redactor passes in.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any, Final, final

__all__ = ["KeyInfo", "Walk"]

KeyInfo = tuple[str, "str | None", bool]
"""A key as it may be logged, the placeholder for its value if the key is sensitive, and
whether that placeholder applies only to a credential-shaped value (``HEROKU_KEY``)."""

# How the walk descends into a container.
_DICT, _LIST, _MAPPING, _SEQUENCE = 0, 1, 2, 3
# Never walked as containers, whatever else they are: ``leaf`` renders them.
_LEAVES = (str, int, float, bytes, bytearray, memoryview, BaseException, logging.LogRecord)


@final
class Walk:
    """The walk. ``text`` redacts a string, ``texts`` holds results it cached; ``key`` gives a
    key's :data:`KeyInfo`, and ``keys`` caches those by key; ``leaf`` redacts what is neither
    a mapping nor a sequence; ``gate`` says whether a value is credential-shaped. Named tuples
    and dataclasses are walked as mappings of their fields, and ``(name, value)`` pairs (ASGI
    header lists) by their name. A value that fails to redact becomes a marker, and only that
    value.

    Each walk keeps ``done``, the strings it redacted so far (records repeat their fields, and
    traces their queries and URLs, so each distinct string is redacted once), and ``seen``,
    the ids of the containers above the current one (``None``: not tracked).
    """

    def __init__(
        self,
        text: Callable[[str], str],
        texts: dict[str, str],
        key: Callable[[Any], KeyInfo],
        keys: dict[str, KeyInfo],
        leaf: Callable[[Any], Any],
        gate: Callable[[Any], bool],
        max_depth: int,
        max_items: int,
    ) -> None:
        self._text: Final = text
        self._texts: Final = texts
        self._key: Final = key
        self._keys: Final = keys
        self._leaf: Final = leaf
        self._gate: Final = gate
        self._max_depth: Final = max_depth
        self._max_items: Final = max_items

    def redact(self, obj: Any) -> Any:
        """``obj`` redacted. Cycles are rare, so the path is not tracked at first. A walk
        through a cycle always reaches the depth bound (or the recursion limit); only such a
        walk runs again, with the path tracked, so the output is the same as if it always were."""
        done: dict[str, str] = {}
        try:
            return self._walk(obj, 0, None, done)
        except _DepthReached:
            return self._walk(obj, 0, set(), done)

    def _string(self, value: str, done: dict[str, str]) -> str:
        """A string not in the redactor's cache: redacted once per walk."""
        result = done.get(value)
        if result is None:
            result = done[value] = self._text(value)
        return result

    def _walk(self, obj: Any, depth: int, seen: set[int] | None, done: dict[str, str]) -> Any:
        try:
            kind = type(obj)
            if kind is str:
                return self._texts.get(obj) or self._string(obj, done)
            if obj is None or kind is int or kind is float or kind is bool:
                return obj
            how = _MAPPING
            if kind is dict:
                how = _DICT
            elif kind is list or kind is tuple:
                first = type(obj[0]) if len(obj) == 2 else None
                if (first is str and kind is tuple) or first is bytes:
                    hidden = self._pair(obj)
                    if hidden is not None:
                        return hidden
                how = _LIST
            elif isinstance(obj, _LEAVES):
                return self._leaf(obj)
            elif isinstance(obj, Mapping):
                pass  # walked as a mapping below (``how`` keeps its default); never as fields
            elif (fields := _fields(obj)) is not None:
                obj = fields
            elif isinstance(obj, list | tuple | set | frozenset):
                how = _SEQUENCE
            else:
                return self._leaf(obj)
            if depth >= self._max_depth:
                if seen is None:
                    raise _DepthReached
                return "[REDACTED:too_deep]"
            if seen is None:
                return self._items(obj, how, depth, seen, done)
            marker = id(obj)
            if marker in seen:
                return "[REDACTED:cycle]"
            seen.add(marker)
            try:
                return self._items(obj, how, depth, seen, done)
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

    def _items(
        self, obj: Any, how: int, depth: int, seen: set[int] | None, done: dict[str, str]
    ) -> Any:
        """The items of a container the walk descends into, redacted."""
        if how == _DICT:
            if len(obj) <= self._max_items:
                return self._dict(obj, depth, seen, done)
            return self._mapping(obj, depth, seen, done)
        if how == _LIST:
            if len(obj) > self._max_items:
                return self._sequence(obj, depth, seen, done)
            return self._list(obj if type(obj) is list else list(obj), depth, seen, done)
        if how == _MAPPING:
            return self._mapping(obj, depth, seen, done)
        return self._sequence(obj, depth, seen, done)

    def _pair(self, obj: list[Any] | tuple[Any, ...]) -> list[Any] | None:
        """A ``(name, value)`` pair with a sensitive name: the name and the placeholder; any
        other pair gives None (it is walked as a sequence)."""
        name = obj[0].decode("latin-1") if type(obj[0]) is bytes else obj[0]
        info = self._keys.get(name)
        logged, placeholder, gated = self._key(name) if info is None else info
        value = obj[1]
        if placeholder is None or value is None or value in ("", b""):
            return None
        if gated and not self._gate(value.decode("latin-1") if type(value) is bytes else value):
            return None
        return [logged, placeholder]

    def _list(
        self, obj: list[Any], depth: int, seen: set[int] | None, done: dict[str, str]
    ) -> list[Any]:
        """A list within the item limit, redacted."""
        texts = self._texts
        out: list[Any] = []
        for item in obj:
            kind = type(item)
            if kind is str:
                out.append(texts.get(item) or self._string(item, done))
            elif item is None or kind is int or kind is float or kind is bool:
                out.append(item)
            else:
                out.append(self._walk(item, depth + 1, seen, done))
        return out

    def _sequence(
        self, obj: Iterable[Any], depth: int, seen: set[int] | None, done: dict[str, str]
    ) -> list[Any]:
        """Any sequence or set as a list, cut at the item limit."""
        items = list(obj)
        limit = self._max_items
        out = self._list(items[:limit], depth, seen, done)
        if len(items) > limit:
            out.append(f"[REDACTED:{len(items) - limit} more items]")
        return out

    def _dict(
        self, obj: dict[Any, Any], depth: int, seen: set[int] | None, done: dict[str, str]
    ) -> dict[Any, Any]:
        """A dict within the item limit. Its keys mostly stay as they are, so its copy starts
        as a copy of the dict (one block copy) whose changed values are then replaced; at a
        key that itself redacts to other text, :meth:`_mapping` takes over."""
        keys = self._keys
        texts = self._texts
        out = obj.copy()
        index = 0
        for name, value in obj.items():
            info = keys.get(name) if isinstance(name, str) else None
            if info is None:
                info = self._key(name)
            logged, placeholder, gated = info
            if logged is not name and not (type(name) is str and logged == name):
                return self._mapping(obj, depth, seen, done, out, index)
            index += 1
            if (
                placeholder is not None
                and value is not None
                and value != ""
                and (not gated or self._gate(value))
            ):
                out[name] = placeholder
                continue
            kind = type(value)
            if kind is str:
                result = texts.get(value) or self._string(value, done)
                if result is not value:
                    out[name] = result
            elif value is not None and kind is not int and kind is not float and kind is not bool:
                out[name] = self._walk(value, depth + 1, seen, done)
        return out

    def _mapping(
        self,
        obj: Mapping[Any, Any],
        depth: int,
        seen: set[int] | None,
        done: dict[str, str],
        head: dict[Any, Any] | None = None,
        start: int = 0,
    ) -> dict[Any, Any]:
        """Any mapping, with keys renamed where they redact and at most ``max_items`` items;
        the values of its first ``start`` keys are taken from ``head``, already redacted."""
        keys = self._keys
        texts = self._texts
        max_items = self._max_items
        out: dict[Any, Any] = {}
        pairs = iter(obj.items())
        if head is not None:
            for name, _ in islice(pairs, start):
                out[name] = head[name]
        # A dict's length is exact, so within the limit its items need no counting.
        exact = type(obj) is dict and len(obj) <= max_items
        for name, value in pairs if exact else islice(pairs, max_items):
            info = keys.get(name) if isinstance(name, str) else None
            if info is None:
                info = self._key(name)
            logged, placeholder, gated = info
            if logged is not name and logged != name and logged in out:
                # Two secret keys redact alike ({"ann@x.org": 1, "bob@x.org": 2}): keep both.
                logged = _distinct(logged, out)
            kind = type(value)
            if (
                placeholder is not None
                and value is not None
                and value != ""
                and (not gated or self._gate(value))
            ):
                out[logged] = placeholder
            elif kind is str:
                out[logged] = texts.get(value) or self._string(value, done)
            elif value is None or kind is int or kind is float or kind is bool:
                out[logged] = value
            else:
                out[logged] = self._walk(value, depth + 1, seen, done)
        for _ in pairs:  # a key beyond the limit
            out["[REDACTED:more]"] = f"{len(obj) - max_items} more keys"
            break
        return out


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
