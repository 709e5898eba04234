"""Whether a value has the shape of a credential rather than of a word in a sentence.

Used where context alone is weak: the value after an auth scheme named in prose, and the value
of a key that only sometimes names a secret (``key``, ``login``). A credential is at least
eight characters and mixes character classes; a word (``validation``, ``Re-Validation``)
does not.
"""

from __future__ import annotations

import re

__all__ = ["credential_like"]

_WORD = re.compile(r"[A-Za-z][a-z]*+(?:[-'][A-Za-z][a-z]*+)*+[.,;:!?)]?")
_PARAM = re.compile(r"[A-Za-z0-9\-]{1,31}=")
_DIGITS = b"0123456789"


def credential_like(value: str) -> bool:
    """``value`` (quotes aside) could be a token, a key or a parameter list holding one."""
    value = value.strip("\"'")
    if len(value) < 8 or _WORD.fullmatch(value) is not None:
        return False
    if _PARAM.match(value) is not None and len(value) > 8:
        return True  # "username=..., response=..." after Digest, AWS4-HMAC-SHA256
    if value.isascii():
        # Each class tested by one C-level pass over the value, not by a loop per character.
        digit = len(value.encode().translate(None, _DIGITS)) < len(value)
        upper = value.lower() != value
        lower = value.upper() != value
        other = not value.isalnum()
        letter = upper or lower
        return (digit and letter) or (upper and lower) or (other and letter and len(value) >= 16)
    digit = upper = lower = other = False
    for char in value:
        if char.isdigit():
            digit = True
        elif char.isupper():
            upper = True
        elif char.islower():
            lower = True
        else:
            other = True
    letter = upper or lower
    return (digit and letter) or (upper and lower) or (other and letter and len(value) >= 16)
