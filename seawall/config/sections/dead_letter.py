"""The ``dead_letter`` section: the store of operations that failed for good."""

from __future__ import annotations

import importlib.util

from seawall.config.parse import Parsed, Table
from seawall.config.schema import DEAD_LETTER_BACKENDS, DeadLetterSettings

__all__ = ["parse_dead_letter"]

KEYS = ("backend", "path", "url", "retention", "max_entries")


def parse_dead_letter(path: str, raw: object, earlier: Parsed) -> DeadLetterSettings:
    s = Table(path, raw, KEYS)
    default = DeadLetterSettings()
    backend = s.choice("backend", default.backend, DEAD_LETTER_BACKENDS)
    url = s.optional_string("url")
    file = s.string("path", default.path)
    if not file:
        s.error("path", "expected a file name, got an empty string")
    if backend == "redis":
        if url is None:
            s.error("url", "the redis backend needs a redis:// URL")
        elif not url.startswith(("redis://", "rediss://", "unix://")):
            s.error("url", f"expected a redis://, rediss:// or unix:// URL, got {url!r}")
        if importlib.util.find_spec("redis") is None:
            s.error("backend", "the redis backend needs redis-py: pip install 'seawall[redis]'")
    elif url is not None:
        s.error("url", "is read by the redis backend only; set backend: redis", after=["backend"])
    return DeadLetterSettings(
        backend=backend,
        path=file,
        url=url,
        retention=s.number("retention", default.retention, minimum=0, exclusive_min=True),
        max_entries=s.integer("max_entries", default.max_entries, minimum=1),
    )
