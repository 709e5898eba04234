"""Bounded polling for tests: threads and servers catch up on their own time, never slept for."""

from __future__ import annotations

import time
from collections.abc import Callable


def settle(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether ``condition`` came true within ``timeout`` seconds, polled every 10 ms."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
