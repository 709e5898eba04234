"""Response header edits shared by the ASGI and WSGI middleware.

The correlation header is set or replaced, never duplicated; when the app sends
``Access-Control-Expose-Headers`` the header name is merged into it so browsers can read it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["merge_expose", "set_header_bytes", "set_header_str"]

_EXPOSE = b"access-control-expose-headers"
_EXPOSE_STR = "access-control-expose-headers"


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
    if type(headers) is not list and type(headers) is not tuple:
        headers = list(headers)  # read twice below
    # Fast path: lowercase names (as servers and frameworks send them), none to edit.
    for key, _ in headers:
        if key in (name, _EXPOSE) or not key.islower():
            break
    else:
        return [*headers, (name, value)]
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
    edited = (lowered_name, _EXPOSE_STR)
    for key, _ in headers:
        if key.lower() in edited:
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
