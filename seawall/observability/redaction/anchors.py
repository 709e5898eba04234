"""Which detectors can match a text, decided by cheap substring tests on their anchors.

Each anchor is filed under a guard: its first character that is not a lowercase letter (the
commonest characters in text), or the whole anchor when it has none. An anchor is looked for
only when its guard occurs, so a text without secrets costs about a dozen substring tests,
most of them for one character, instead of one test per anchor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from seawall.observability.redaction.detectors import DIGITS, Detector

__all__ = ["AnchorIndex"]

# A run of at least eight digits, spaces and dashes allowed; in ASCII text \d is [0-9], and
# the regex engine tests a plain character set faster than the Unicode digit category.
_DIGIT_RUN = re.compile(r"\d(?:[ \-]?\d){7}").search
_ASCII_DIGIT_RUN = re.compile(r"[0-9](?:[ \-]?[0-9]){7}").search

_Group = tuple[str, tuple[tuple[str, tuple[int, ...]], ...]]


class AnchorIndex:
    """The anchors of some detectors, each mapped back to the detectors that name it."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self._detectors = tuple(detectors)
        literal: dict[str, list[int]] = {}
        folded: dict[str, list[int]] = {}
        self._always: list[int] = []
        self._digits: list[int] = []
        for index, detector in enumerate(detectors):
            if not detector.anchors:
                self._always.append(index)
            for anchor in detector.anchors:
                if anchor == DIGITS:
                    self._digits.append(index)
                elif detector.case_insensitive_anchors:
                    folded.setdefault(anchor.lower(), []).append(index)
                else:
                    literal.setdefault(anchor, []).append(index)
        self._literal = _grouped(literal)
        self._folded = _grouped(folded)
        self._unanchored = tuple(self._detectors[index] for index in self._always)

    def detectors_for(self, text: str, lowered: str) -> Iterable[Detector]:
        """The detectors with an anchor in ``text``, in no particular order (case-insensitive
        anchors are looked for in ``lowered``, which is ``text.lower()``)."""
        wanted: list[int] = []
        for guard, anchors in self._literal:
            if guard in text:
                for anchor, indices in anchors:
                    if anchor in text:
                        wanted += indices
        for guard, anchors in self._folded:
            if guard in lowered:
                for anchor, indices in anchors:
                    if anchor in lowered:
                        wanted += indices
        if self._digits:
            digit_run = _ASCII_DIGIT_RUN if text.isascii() else _DIGIT_RUN
            if digit_run(text) is not None:
                wanted += self._digits
        if not wanted:
            return self._unanchored
        return map(self._detectors.__getitem__, {*wanted, *self._always})


def _grouped(anchors: dict[str, list[int]]) -> tuple[_Group, ...]:
    groups: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for anchor, indices in anchors.items():
        guard = next((c for c in anchor if not "a" <= c <= "z"), anchor)
        groups.setdefault(guard, []).append((anchor, tuple(indices)))
    return tuple((guard, tuple(members)) for guard, members in groups.items())
