"""Escaped text decoded for detection: ``%XX``, ``\\xXX``, ``\\uXXXX`` and HTML character
references, with a map from each decoded character back to the text it came from.

``user%5Bpassword%5D=v`` or ``next=%2Fcb%3Fpassword%3Dv`` hide a key from the detectors; they
run on the decoded text, and what they find is replaced in the original.
"""

from __future__ import annotations

import html
import re

__all__ = ["ESCAPE", "decoded"]

ESCAPE = re.compile(
    r"%[0-9A-Fa-f]{2}|\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});"
)
"""One escape; the redactor decodes a text only when it holds one."""


def decoded(text: str) -> tuple[str, list[int]]:
    """``text`` with every escape decoded, and for each decoded character (plus one past the
    end) the offset in ``text`` where it starts."""
    out: list[str] = []
    starts: list[int] = []
    position = 0
    for match in ESCAPE.finditer(text):
        start = match.start()
        out.append(text[position:start])
        starts.extend(range(position, start))
        escape = match.group()
        if escape[0] == "%" or escape[1] == "x":
            char = chr(int(escape[-2:], 16))
        elif escape[0] == "\\":
            char = chr(int(escape[2:], 16))
        else:
            char = html.unescape(escape)
        out.append(char)
        starts.extend([start] * len(char))
        position = match.end()
    out.append(text[position:])
    starts.extend(range(position, len(text) + 1))
    return "".join(out), starts
