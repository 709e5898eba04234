"""Header values an exception asks for, kept only when they can be sent as they are.

An exception's headers come from application code at failure time: a value outside latin-1
(``Bearer realm="日本"``) would raise ``UnicodeEncodeError`` in the server, CR or LF would
split the response, a framing header would contradict seawall's own. Those are dropped, and
their names (escaped) are returned so the pipeline can report them once.
"""

from __future__ import annotations

from collections.abc import Iterable

from seawall.config.parse import FRAMING_HEADERS, HEADER_NAME, header_value_problem
from seawall.errors.safe_text import safe_repr

__all__ = ["sendable_headers"]

_NAME_SHOWN = 40

# Framing headers an error status itself calls for: a 416 carries the resource's
# ``Content-Range: bytes */N`` and a 407 its ``Proxy-Authenticate`` (RFC 9110 15.5.17, 15.5.8).
_NOT_SENDABLE = FRAMING_HEADERS - {"content-range", "proxy-authenticate"}


def sendable_headers(items: Iterable[tuple[object, object]]) -> tuple[dict[str, str], list[str]]:
    """The headers that can be sent, and the (escaped, cut) names of those dropped."""
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in items:
        if not (
            isinstance(name, str)
            and HEADER_NAME.fullmatch(name)
            and name.lower() not in _NOT_SENDABLE
            and isinstance(value, str | int)
            and not isinstance(value, bool)
        ):
            dropped.append(_shown(name))
            continue
        text = str(value)
        if header_value_problem(text) is not None:
            dropped.append(name)
            continue
        kept[name] = text
    return kept, dropped


def _shown(name: object) -> str:
    """A dropped name for the log: text names as they are when they are tokens, else escaped."""
    if isinstance(name, str) and HEADER_NAME.fullmatch(name):
        return name
    text = safe_repr(name).encode("ascii", "backslashreplace").decode("ascii")
    return text[:_NAME_SHOWN]
