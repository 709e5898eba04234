"""Which detectors can match a text, found in one pass over the text for the whole catalogue.

Each anchor that holds a character other than a lowercase letter is filed under its rarest
such character, its guard (``_`` in ``ghp_``, ``A`` in ``AKIA``); guards are rare in text
compared with lowercase letters, and punctuation never occurs in a random token's body.
In a short text each guard is found by ``str.find`` (memchr in C, far cheaper per character
than a regex scan), and at each occurrence the characters around it (the two before, or the
one before or after) name the few anchors that can sit there, each then compared whole.
A long text, where guards may occur by the thousand, is scanned instead by one regex that
holds every anchor as the guard followed by checks on what surrounds it (``_(?<=ghp_)``,
``A(?=KIA)``), so at a guard only C code runs. Either way the cost follows the number of
guards in the text, not the size of the catalogue. Anchors made only of lowercase letters
(``dapi``, or the case-folded ``bearer``), and those of a guard shared by only a few
(``sig=``, ``LTAI``), are substring tests.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import cache

from seawall.observability.redaction.pattern import Detector

__all__ = ["DIGITS", "AnchorIndex"]

DIGITS = "#digits"
"""Anchor meaning: the text has a run of at least eight digits (spaces and dashes allowed)."""

# A run of at least eight digits, spaces and dashes allowed; in ASCII text \d is [0-9], and
# the regex engine tests a plain character set faster than the Unicode digit category. The
# repetition is written out: eight single-character steps cost less than a repeated group.
_DIGIT_RUN = re.compile(r"\d" + r"[ \-]?\d" * 7).search
_ASCII_DIGIT_RUN = re.compile(r"[0-9]" + r"[ \-]?[0-9]" * 7).search
# Every digit as "0", every other byte as "x", spaces and dashes dropped: a run of eight digits
# (separators allowed) leaves "00000000". bytes.translate is one tight C loop, several times
# cheaper than the regex, which then runs only on the few texts that pass this test.
_DIGIT_MARKS = bytes(48 if 48 <= code <= 57 else 120 for code in range(256))


@cache
def _guard(anchor: str) -> int:
    """The index of the anchor's rarest character in text, or -1 if it has only lowercase
    letters: punctuation first (it separates words, random token bodies hold none), then an
    upper-case letter, then a digit."""
    for rare in (_PUNCTUATION, str.isupper, str.isdigit):
        at = next((i for i, c in enumerate(anchor) if rare(c)), -1)
        if at >= 0:
            return at
    return -1


def _in_regex(anchor: str, sharing: Counter[str]) -> bool:
    """Whether the combined regex (or, in a short text, the walk from each guard) looks for
    ``anchor``, rather than a substring test. Each stop at a guard costs several substring
    tests, so a guard of only a few anchors ("2" of ``oy2``, "=" of ``sig=``) is cheaper
    skipped: its anchors are tested alone, behind one test for the guard character."""
    at = _guard(anchor)
    return at >= 0 and sharing[anchor[at]] > _FEW


_FEW = 4
_SHORT = 512
"""Texts up to this length find their guards by ``str.find`` in the compiled build; longer
ones, and every text in pure Python, by the regex."""
_COMPILED = not __file__.endswith(".py")
"""Whether this module is the mypyc build. Per credential-corpus sample (callgrind), the walk
costs 105k instructions compiled against 118k by the regex, pure 173k against 166k."""


def _PUNCTUATION(char: str) -> bool:
    return char.isascii() and not char.isalnum() and not char.isspace()


_Entry = tuple[int, int, str]
"""An anchor as compared at a guard at ``at``: ``text[at - back : at + ahead] == anchor``."""


class _Guard:
    """The anchors filed under one guard character, looked up by the text around each of its
    occurrences: by the two characters before it, by the one before it (anchors with one
    character before the guard), or by the one after it (anchors that start with the guard).
    One or two dict lookups per occurrence, each narrowing to the few anchors whose whole text
    is then compared as one slice."""

    def __init__(self, guard: str) -> None:
        self.guard = guard
        self.two: dict[str, list[_Entry]] = {}
        self.one: dict[str, list[_Entry]] = {}
        self.ahead: dict[str, list[_Entry]] = {}
        self.alone = False  # an anchor that is the guard character alone


def _guards(anchors: Sequence[str]) -> tuple[_Guard, ...]:
    """For each guard character, its anchors filed by the text around the guard."""
    guards: dict[str, _Guard] = {}
    for anchor in anchors:
        at = _guard(anchor)
        guard = guards.setdefault(anchor[at], _Guard(anchor[at]))
        entry = (at, len(anchor) - at, anchor)
        if at >= 2:
            guard.two.setdefault(anchor[at - 2 : at], []).append(entry)
        elif at == 1:
            guard.one.setdefault(anchor[0], []).append(entry)
        elif len(anchor) > 1:
            guard.ahead.setdefault(anchor[1], []).append(entry)
        else:
            guard.alone = True
    return tuple(guards.values())


class AnchorIndex:
    """The anchors of some detectors, each mapped back to the detectors that name it."""

    def __init__(self, detectors: Sequence[Detector], walk: bool = _COMPILED) -> None:
        self._detectors = tuple(detectors)
        self._walk_below = _SHORT if walk else -1
        literal: dict[str, list[int]] = {}
        folded: dict[str, list[int]] = {}
        always: list[int] = []
        digits: list[int] = []
        for index, detector in enumerate(detectors):
            if not detector.anchors:
                always.append(index)
            for anchor in detector.anchors:
                if anchor == DIGITS:
                    digits.append(index)
                elif detector.case_insensitive_anchors:
                    folded.setdefault(anchor.lower(), []).append(index)
                else:
                    literal.setdefault(anchor, []).append(index)
        sharing = Counter(anchor[_guard(anchor)] for anchor in literal if _guard(anchor) >= 0)
        guarded = sorted((a for a in literal if _in_regex(a, sharing)), key=lambda a: (-len(a), a))
        self._literal = {a: tuple(v) for a, v in literal.items()}
        self._folded = tuple((a, tuple(v)) for a, v in folded.items())
        # Anchors tested alone, grouped under their guard where they have one: a text without
        # that character (one memchr in C) skips every substring test of the group.
        gates: dict[str, list[str]] = {}
        for anchor in literal:
            if not _in_regex(anchor, sharing):
                at = _guard(anchor)
                gates.setdefault(anchor[at] if at >= 0 else "", []).append(anchor)
        self._plain = tuple((gate, tuple(group)) for gate, group in gates.items())
        self._always = tuple(always)
        self._digits = tuple(digits)
        self._guarded, self._found = _combined(guarded)
        self._short = _guards(guarded)

    def selected(self, text: str, lowered: str) -> list[tuple[Detector, tuple[str, ...]]]:
        """Each detector with an anchor in ``text``, once, with the anchors that occur there
        (an anchored detector looks only for those); detectors without anchors always.
        Case-insensitive anchors are looked for in ``lowered``, which is ``text.lower()``."""
        present: set[str] = set()
        if len(text) <= self._walk_below:
            _found_by_find(self._short, text, present)
        elif self._found:
            found = self._found
            # Each anchor once, however often it occurs (a run of glued anchors costs one
            # pass, not one substring test per occurrence).
            for group in {match.lastindex or 0 for match in self._guarded.finditer(text)}:
                inside, companions = found[group]
                present.update(inside)
                for anchor in companions:
                    if anchor in text:
                        present.add(anchor)
        for gate, alone in self._plain:
            if gate in text:
                for anchor in alone:
                    if anchor in text:
                        present.add(anchor)
        wanted: dict[int, list[str]] = {}
        literal = self._literal
        for anchor in present:
            for index in literal[anchor]:
                wanted.setdefault(index, []).append(anchor)
        for anchor, indices in self._folded:
            if anchor in lowered:
                for index in indices:
                    wanted.setdefault(index, []).append(anchor)
        if self._digits:
            if text.isascii():
                run = b"00000000" in text.encode().translate(_DIGIT_MARKS, b" -")
                run = run and _ASCII_DIGIT_RUN(text) is not None
            else:
                run = _DIGIT_RUN(text) is not None
            if run:
                for index in self._digits:
                    wanted.setdefault(index, [])
        for index in self._always:
            wanted.setdefault(index, [])
        detectors = self._detectors
        return [(detectors[index], tuple(anchors)) for index, anchors in wanted.items()]

    def detectors_for(self, text: str, lowered: str) -> list[Detector]:
        """The detectors :meth:`selected` gives for ``text``, in no particular order."""
        return [detector for detector, _ in self.selected(text, lowered)]


def _found_by_find(guards: tuple[_Guard, ...], text: str, present: set[str]) -> None:
    """Every guarded anchor in ``text`` added to ``present``: at each occurrence of each guard,
    the anchors filed under the characters around it compared whole. A slice that starts
    before the text (``at < back``) is shorter than its anchor, so it never compares equal."""
    for guard in guards:
        char = guard.guard
        at = text.find(char)
        if at < 0:
            continue
        two, one, ahead = guard.two, guard.one, guard.ahead
        if guard.alone:
            present.add(char)
        while at >= 0:
            # A slice compared: startswith with offsets is a generic method call once
            # compiled, several times as costly.
            if two:
                entries = two.get(text[at - 2 : at]) if at >= 2 else None
                if entries is not None:
                    for back, ahead_of, anchor in entries:
                        if text[at - back : at + ahead_of] == anchor:
                            present.add(anchor)
            if one and at:
                entries = one.get(text[at - 1])
                if entries is not None:
                    for _, ahead_of, anchor in entries:
                        if text[at - 1 : at + ahead_of] == anchor:
                            present.add(anchor)
            if ahead:
                entries = ahead.get(text[at + 1 : at + 2])
                if entries is not None:
                    for _, ahead_of, anchor in entries:
                        if text[at : at + ahead_of] == anchor:
                            present.add(anchor)
            at = text.find(char, at + 1)


_Found = tuple[tuple[str, ...], tuple[str, ...]]


def _combined(guarded: list[str]) -> tuple[re.Pattern[str], list[_Found]]:
    """The regex of every guarded anchor, and for each of its groups the anchors a match
    shows present: the anchor and every anchor inside it, and (to be tested) anchors that
    may sit on the same guard without being inside it.

    Under each guard, the characters before it are checked as a trie, nearest first, so a
    guard with dozens of anchors costs a few one-character checks where none of them fits."""
    by_guard: dict[str, list[str]] = {}
    for anchor in guarded:
        by_guard.setdefault(anchor[_guard(anchor)], []).append(anchor)
    found: list[_Found] = [((), ())]  # group 0 is never a match's last group

    def group(anchor: str) -> str:
        inside = tuple(other for other in guarded if other in anchor)
        companions = tuple(
            other
            for other in by_guard[anchor[_guard(anchor)]]
            if other not in anchor and _may_share_guard(anchor, other)
        )
        found.append((inside, companions))
        return "()"

    def after(anchors: list[str], done: int) -> str:
        """A trie of what follows the guard in ``anchors`` (``done`` characters of it checked),
        each branch starting with a literal, which the engine rejects in one comparison."""
        by_next: dict[str, list[str]] = {}
        ending: list[str] = []
        for anchor in anchors:
            rest = anchor[_guard(anchor) + 1 + done :]
            (by_next.setdefault(rest[0], []) if rest else ending).append(anchor)
        alternatives = [
            re.escape(char) + after(members, done + 1) for char, members in by_next.items()
        ]
        alternatives += [group(anchor) for anchor in ending]
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    def branch(anchors: list[str], matched: str, guard: str) -> str:
        """Alternatives for anchors whose text just before the guard ends with ``matched``."""
        longer: dict[str, list[str]] = {}
        here: list[str] = []
        for anchor in anchors:
            before = anchor[: _guard(anchor)]
            if len(before) > len(matched):
                longer.setdefault(before[-len(matched) - 1], []).append(anchor)
            else:
                here.append(anchor)
        alternatives = [
            f"(?<={re.escape(char + matched + guard)})" + branch(members, char + matched, guard)
            for char, members in longer.items()
        ]
        if len(alternatives) > 3:
            # One character-set test first: a lookbehind costs a nested match, and most
            # guards have none of the characters wanted before them.
            chars = "".join(sorted(longer))
            screen = f"(?<=[{re.escape(chars)}]{re.escape(matched + guard)})"
            alternatives = [screen + "(?:" + "|".join(alternatives) + ")"]
        if here:
            # What follows the guard is checked without being consumed: an anchor may start
            # inside another one ("AKIASIA..."), and the scan must still stop at its guard.
            alternatives.append(f"(?={after(here, 0)})")
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    branches = []
    for guard, anchors in by_guard.items():
        branches.append(re.escape(guard) + branch(anchors, "", guard))
    return re.compile("|".join(branches)), found


def _may_share_guard(one: str, other: str) -> bool:
    """Whether both anchors can occur with their guards on the same character of a text."""
    a, b = _guard(one), _guard(other)
    before_a, before_b = one[:a], other[:b]
    after_a, after_b = one[a + 1 :], other[b + 1 :]
    return (before_a.endswith(before_b) or before_b.endswith(before_a)) and (
        after_a.startswith(after_b) or after_b.startswith(after_a)
    )
