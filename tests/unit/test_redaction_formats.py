"""Provider credential formats, from the seeded corpus: every family in every placement, and
lookalikes left whole."""

from __future__ import annotations

import json

import pytest

from seawall.observability.redaction import Redactor, redact
from tests.credential_corpus import FORMATS, bare, contextual, lookalikes, secrets, under_key

R = Redactor()
ITEMS = secrets(per_format=2)
PREFIXED = [(fmt, secret) for fmt, secret in ITEMS if fmt.prefixed]


def leaked(output: str, secret: str, text: str = "") -> str | None:
    """The part of ``secret`` left in ``output``: the whole or any 8-character run of it that
    is not also in the text around the secret (a key named for the provider, a URL)."""
    context = text.replace(secret, " ")
    if secret in output:
        return secret
    for start in range(len(secret) - 7):
        run = secret[start : start + 8]
        if run in output and run not in context:
            return run
    return None


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.prefixed], ids=lambda f: f.name)
def test_prefixed_formats_are_redacted_bare_in_prose(fmt: object) -> None:
    """A format whose prefix or marker says what it is is found inside an English sentence."""
    for sample in bare([item for item in PREFIXED if item[0] is fmt]):
        out = R.text(sample.text)
        assert leaked(out, sample.secret) is None, (sample.text, out)
        assert "[REDACTED:" in out


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_every_format_is_redacted_in_every_sample_line(fmt: object) -> None:
    """Config files, code, shell flags, headers, XML: every line form hides every format,
    including those without a prefix, by the key that names them."""
    for sample in contextual([item for item in ITEMS if item[0] is fmt]):
        out = R.text(sample.text)
        assert leaked(out, sample.secret, sample.text) is None, (sample.text, out)


def test_every_format_is_redacted_under_a_token_key() -> None:
    """A dict value under ``token`` is replaced whatever its format."""
    for fmt, event, secret in under_key(ITEMS):
        out = json.dumps(redact(event))
        assert secret not in out, fmt.name


def test_lookalikes_are_left_whole() -> None:
    """Ids, hashes, digests, settings and sentences about tokens come through unchanged."""
    changed = [(s.text, R.text(s.text)) for s in lookalikes() if R.text(s.text) != s.text]
    assert changed == []


def test_the_corpus_is_reproducible() -> None:
    """The same seed gives the same secrets, so figures can be compared between runs."""
    assert secrets(per_format=1, seed=3) == secrets(per_format=1, seed=3)
    assert secrets(per_format=1, seed=3) != secrets(per_format=1, seed=4)
