"""Redaction work repeated N times, for callgrind (``benchmarks/instructions_redaction.sh``):
``python benchmarks/callgrind_redaction.py VARIANT N`` with VARIANT ``corpus`` (N passes over
the credential corpus's bare and sample-line texts, each pass with a fresh redactor, so no
sample is served from a cache), ``event`` (the 10 KB / 297-key event of ``bench_redaction.py``,
one redactor, steady state) or ``record`` (the 8-field structlog record)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # an installed or compiled build wins

from bench_redaction import build_event

from seawall.observability.redaction import RedactingProcessor, Redactor
from tests.credential_corpus import bare, contextual, secrets

RECORD = {"event": "order placed", "order_id": "ORD-2024-000123", "items": 3, "total": 59.97,
          "user_id": 4711, "level": "info", "timestamp": "2026-11-25T03:43:54.059926Z",
          "correlation_id": "4bf92f3577b34da6a3ce929d0e0e4736"}  # fmt: skip


def texts() -> list[str]:
    """The corpus texts ``bench_redaction.py`` takes its median per sample over."""
    items = secrets(per_format=3)
    return [sample.text for sample in bare(items) + contextual(items)]


def main(variant: str, n: int) -> None:
    if variant == "corpus":
        samples = texts()
        for _ in range(n):
            redact = Redactor()._text
            for text in samples:
                redact(text)
    elif variant == "event":
        event = build_event()
        redact = Redactor().redact
        redact(event)  # the first event fills the caches; steady state from here on
        for _ in range(n):
            redact(event)
    elif variant == "record":
        processor = RedactingProcessor(Redactor())
        for _ in range(n + 1):
            processor(None, "info", dict(RECORD))
    elif variant == "count":
        print(len(texts()))  # the number of corpus texts, which the per-sample figure divides by
    else:
        raise SystemExit(f"unknown variant {variant!r}: corpus, event, record or count")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
