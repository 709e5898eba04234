"""Log-injection defence: control and direction-changing characters become visible escapes.

C0 and C1 controls, DEL, the Unicode line and paragraph separators, the bidi overrides and
any other non-printable code point are replaced by ``\\n``/``\\xNN``/``\\uNNNN`` text, so
one value is always one line and no ANSI sequence or reordering reaches a terminal.
Backslashes stay as they are, which keeps escaping idempotent.
"""

from __future__ import annotations

import re

__all__ = ["escape"]

_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_TABLE: dict[int, str] = {
    code: _NAMED.get(code, f"\\x{code:02x}")
    for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))
}
_TABLE.update(
    {
        code: f"\\u{code:04x}"
        for code in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                     *range(0x2066, 0x206A))
    }
)  # fmt: skip


_LISTED = re.compile("[" + "".join(re.escape(chr(code)) for code in _TABLE) + "]")
"""The characters of the table. Replacing them by a regex costs a call per character
replaced; ``str.translate`` with two-character results (``\\n``) leaves its fast path and
costs a mapping lookup per character of the text, twenty times as much on a config line."""


def _listed(match: re.Match[str]) -> str:
    return _TABLE[ord(match.group())]


def escape(text: str) -> str:
    """``text`` with every control, separator and bidi character shown as an escape."""
    if text.isprintable():
        return text
    text = _LISTED.sub(_listed, text)
    if text.isprintable():
        return text
    # Rarer non-printables (format, private-use, unassigned, surrogates): escape one by one.
    return "".join(c if c.isprintable() else _escape_char(c) for c in text)


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
