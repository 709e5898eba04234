"""Callables the dead-letter tests store and replay by dotted path, in this and other processes."""

from __future__ import annotations

import urllib.request
from typing import Any

CALLS: list[tuple[Any, ...]] = []


def deliver(url: str, number: int) -> None:
    """POST ``number`` to ``url`` (a local test server that counts deliveries)."""
    request = urllib.request.Request(url, data=str(number).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def remember(*args: Any, idempotency_key: str | None = None) -> None:
    """Record the call in this process (with the idempotency key a replay passes)."""
    CALLS.append((*args, idempotency_key))


def fail(*args: Any) -> None:
    raise ConnectionError("upstream refused password=hunter2")
