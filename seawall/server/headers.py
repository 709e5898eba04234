"""Response header edits shared by the ASGI and WSGI middleware.

The correlation header is set or replaced, never duplicated; when the app sends
``Access-Control-Expose-Headers`` the header name is merged into it so browsers can read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

__all__ = ["merge_expose", "set_header_bytes", "set_header_str"]

_EXPOSE: Final = b"access-control-expose-headers"
_EXPOSE_STR: Final = "access-control-expose-headers"
_EXPOSE_LENGTH: Final = len(_EXPOSE_STR)


def merge_expose(value: str, name: str) -> str:
    """Add ``name`` to a comma-separated expose list unless it (or ``*``) is already there."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    lowered = {item.lower() for item in items}
    if name.lower() in lowered or "*" in lowered:
        return value
    return ", ".join([*items, name])


def set_header_bytes(
    headers: Iterable[tuple[bytes, bytes]], name: bytes, value: bytes, display_name: str
) -> list[tuple[bytes, bytes]]:
    """ASGI: drop any ``name`` header, merge into the expose list, append ``name: value``.

    ``name`` is lowercase; ``display_name`` is the configured spelling used in the expose list.
    """
    # A copy (the app's list, often a response object's, stays as it was), then the fast
    # path: no header to edit. Only a name of the same length can be one in any spelling, so
    # most names are passed over without being lowercased. Pairs stay untyped here: compiled,
    # a typed pair is unpacked through the iterator protocol, an untyped one indexed.
    out: list[Any] = list(headers)
    size = len(name)
    for pair in out:
        key = pair[0]
        length = len(key)
        if (length == size and _is_name(key, name)) or (
            length == _EXPOSE_LENGTH and key.lower() == _EXPOSE
        ):
            return _edited_bytes(out, name, value, display_name)
    out.append((name, value))
    return out


def _is_name(key: Any, name: bytes) -> bool:
    """``key.lower() == name`` for a name of the same length; lowers only a name whose first
    byte matches ignoring case (``content-type`` and ``x-request-id`` differ there)."""
    if type(key) is bytes and name and (key[0] | 0x20) != (name[0] | 0x20):
        return False
    return bool(key.lower() == name)


def _edited_bytes(
    headers: list[tuple[bytes, bytes]], name: bytes, value: bytes, display_name: str
) -> list[tuple[bytes, bytes]]:
    """:func:`set_header_bytes` when a header must be dropped or merged (rare)."""
    out: list[tuple[bytes, bytes]] = []
    for key, current in headers:
        lowered = key.lower()
        if lowered == name:
            continue
        if lowered == _EXPOSE:
            current = merge_expose(current.decode("latin-1"), display_name).encode("latin-1")
        out.append((key, current))
    out.append((name, value))
    return out


def set_header_str(
    headers: Iterable[tuple[str, str]], name: str, value: str
) -> list[tuple[str, str]]:
    """WSGI twin of :func:`set_header_bytes` over ``(str, str)`` pairs."""
    if type(headers) is not list:
        headers = list(headers)  # read twice below
    lowered_name = name.lower()
    size = len(name)
    for key, _ in headers:  # as in set_header_bytes: only names of the right length are lowered
        length = len(key)
        if (length == size and key.lower() == lowered_name) or (
            length == _EXPOSE_LENGTH and key.lower() == _EXPOSE_STR
        ):
            break
    else:
        return [*headers, (name, value)]  # the common case: nothing to edit
    out: list[tuple[str, str]] = []
    for key, current in headers:
        lowered = key.lower()
        if lowered == lowered_name:
            continue
        if lowered == _EXPOSE_STR:
            current = merge_expose(current, name)
        out.append((key, current))
    out.append((name, value))
    return out
