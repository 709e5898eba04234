"""What a value detector is: a pattern, the literal anchors that must occur for it to run,
the part of a match to replace, and an optional check of what it found."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Detector"]


@dataclass(frozen=True, slots=True)
class Detector:
    """One kind of secret: ``group`` is the part to replace (0 = the whole match). With
    ``at_anchor``, every match starts where one of the anchors does (or ``before`` it), so the
    pattern is tried only there instead of at every position of the text."""

    name: str
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]
    group: int = 0
    check: Callable[[str], bool] | None = None
    case_insensitive_anchors: bool = False
    at_anchor: bool = False
    before: frozenset[str] = frozenset()
    """With ``at_anchor``: characters a match may hold before its anchor (up to 64), walked
    back over from each occurrence (the local part before an e-mail address's ``@``)."""
