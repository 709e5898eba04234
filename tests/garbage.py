"""Counting the reference cycles a block of requests leaves for the cyclic collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Garbage:
    count: int = 0  # objects the collector found unreachable after the block


@contextmanager
def cyclic_garbage() -> Iterator[Garbage]:
    """Run the block with the collector off; on a normal exit, count what it left behind.

    Warm up what the block builds lazily before entering, or first-use state is counted too.
    """
    gc.collect()
    gc.disable()
    found = Garbage()
    try:
        yield found
        found.count = gc.collect()
    finally:
        gc.enable()
