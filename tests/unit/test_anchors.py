"""Anchor index: the prefilter that decides which detectors run must never skip one that could match."""

from __future__ import annotations

import random
import re

import pytest

from seawall.observability.redaction.anchors import AnchorIndex
from seawall.observability.redaction.detectors import DETECTORS, DIGITS, Detector

INDEX = AnchorIndex(DETECTORS)
ANCHORED = [(d, a) for d in DETECTORS for a in d.anchors if a != DIGITS]


def found(text: str) -> list[str]:
    return [d.name for d in INDEX.detectors_for(text, text.lower())]


@pytest.mark.parametrize(
    ("detector", "anchor"), ANCHORED, ids=[f"{d.name}:{a}" for d, a in ANCHORED]
)
def test_every_anchor_selects_its_detector(detector: Detector, anchor: str) -> None:
    """Each anchor, alone or among words, selects its detector whatever group it is filed under."""
    spellings = {anchor, anchor.upper()} if detector.case_insensitive_anchors else {anchor}
    for spelling in spellings:
        for text in (spelling, f"before {spelling} after", f"x{spelling}y"):
            assert detector in INDEX.detectors_for(text, text.lower())


@pytest.mark.parametrize(
    "text", ["call 4111 1111 1111 1111", "é 12345678", "n° ٣٣٣٣٣٣٣٣", "id 078-05-1120"]
)
def test_digit_runs_select_the_digit_detectors(text: str) -> None:
    """Eight digits in a row (spaces, dashes and non-ASCII digits included) select card, IBAN and SSN."""
    assert {"card", "iban", "ssn"} <= set(found(text))


@pytest.mark.parametrize(
    "text",
    [
        "12345678",
        "x 1 2 3 4 5 6 7 8 y",
        "a1-2-3-4-5-6-7-8",
        "1234 5678",
        "tab\t4111-1111 1111-1111",
    ],
)
def test_the_byte_prefilter_passes_every_ascii_digit_run(text: str) -> None:
    """ASCII text goes through the byte prefilter before the digit-run regex: a run with a
    separator between every digit, or of both kinds, still selects the digit detectors."""
    assert {"card", "iban", "ssn"} <= set(found(text))


@pytest.mark.parametrize("text", ["1234567", "1 2 3 4  5 6 7 8", "12345 67--8", "ab 1234.5678 cd"])
def test_digit_near_runs_select_no_digit_detector(text: str) -> None:
    """Seven digits, or eight split by a double separator or a dot, are no run."""
    assert not {"card", "iban", "ssn"} & set(found(text))


def test_text_without_anchors_selects_nothing() -> None:
    """Plain prose runs no detector: the common case stays cheap."""
    assert found("Soft, breathable and easy to wash; ships within two working days") == []


def test_each_selected_detector_once_and_unanchored_ones_always() -> None:
    """Detectors come once however many of their anchors occur; those without anchors always run."""
    custom = Detector("order", re.compile(r"ORD-\d+"), ())
    index = AnchorIndex([*DETECTORS, custom])
    text = "sk-ant-x and sk-y, ghp_a gho_b, order ORD-1"
    names = [d.name for d in index.detectors_for(text, text.lower())]
    assert sorted(names) == ["anthropic", "github", "openai", "order"]
    assert [d.name for d in index.detectors_for("nothing here", "nothing here")] == ["order"]


@pytest.mark.parametrize(
    ("detector", "anchor"),
    [(d, a) for d, a in ANCHORED if d.at_anchor and len(d.anchors) > 1],
    ids=[f"{d.name}:{a}" for d, a in ANCHORED if d.at_anchor and len(d.anchors) > 1],
)
def test_an_anchored_detector_is_handed_each_anchor_it_holds(
    detector: Detector, anchor: str
) -> None:
    """An anchored detector looks only for the anchors the index hands it: each anchor that
    occurs, whichever of the detector's anchors it is, and also when others occur first."""
    others = " ".join(a for a in detector.anchors if a != anchor and anchor not in a)
    for text in (f"x {anchor} y", f"{others} then x{anchor}y"):
        handed = dict(INDEX.selected(text, text.lower()))
        source = text.lower() if detector.case_insensitive_anchors else text
        assert anchor in handed[detector] or (
            anchor.lower() in handed[detector] and detector.case_insensitive_anchors
        )
        assert all(a in source for a in handed[detector])


def _anchor_soup(seed: int) -> list[str]:
    """Texts of anchors glued, overlapping and cut short, with separators and token bodies
    between: the places a prefilter that skips occurrences would miss one."""
    rng = random.Random(seed)
    literal = sorted({a for d, a in ANCHORED if not d.case_insensitive_anchors})
    fillers = ["", "", " ", "_", "-", ".", "x", "Ab1", "\n", "=", "'"]
    texts = []
    for _ in range(400):
        parts = []
        for _ in range(rng.randint(1, 6)):
            anchor = rng.choice(literal)
            cut = rng.randint(0, 2)
            parts.append(anchor[: len(anchor) - cut] if rng.random() < 0.3 else anchor)
            parts.append(rng.choice(fillers))
        texts.append("".join(parts))
    return texts


@pytest.mark.parametrize(
    ("padding", "walk"),
    [(0, True), (0, False), (600, True)],
    ids=["short: str.find", "short: regex", "long: regex"],
)
def test_the_index_hands_exactly_the_anchors_that_occur(padding: int, walk: bool) -> None:
    """Short texts find guards by ``str.find`` and the text around each, long ones by the combined
    regex: both hand each anchored detector exactly the anchors a plain substring test finds,
    however the anchors overlap; short texts go either way (the walk in the compiled build)."""
    index = AnchorIndex(DETECTORS, walk=walk)
    for text in _anchor_soup(14):
        text = " " * padding + text
        handed = dict(index.selected(text, text.lower()))
        for detector in DETECTORS:
            if detector.case_insensitive_anchors or DIGITS in detector.anchors:
                continue
            expected = {a for a in detector.anchors if a in text}
            if not detector.anchors:
                assert detector in handed
            elif expected:
                assert set(handed[detector]) == expected, (detector.name, text)
            else:
                assert detector not in handed, (detector.name, text)


@pytest.mark.parametrize(
    ("padding", "walk"),
    [(0, True), (0, False), (600, True)],
    ids=["short: str.find", "short: regex", "long: regex"],
)
def test_anchors_of_every_shape_around_a_shared_guard_are_found(padding: int, walk: bool) -> None:
    """A guard shared by many anchors files them by the text around it: two characters
    before, one before, one after, or the guard alone; each shape is found where it occurs
    and nowhere else, at the text's edges too."""
    shapes = ["_", "q_", "ab_", "xab_c", "_zz", "_y", "w_v"]
    custom = Detector("shapes", re.compile(r"_"), tuple(shapes))
    index = AnchorIndex([custom], walk=walk)
    rng = random.Random(7)
    pieces = [*shapes, "a", "b", "q", "z", "y", "w", "v", "c", "x", " "]
    for _ in range(300):
        text = " " * padding + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        handed = dict(index.selected(text, text.lower()))
        expected = {a for a in shapes if a in text}
        assert set(handed.get(custom, ())) == expected, text
