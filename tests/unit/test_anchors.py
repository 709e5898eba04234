"""Anchor index: the prefilter that decides which detectors run must never skip one that could match."""

from __future__ import annotations

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
