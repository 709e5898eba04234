"""Reading a log for the commands: a file or ``-`` (stdin), whole or followed as it grows,
as JSON events (other lines are counted and passed over)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

__all__ = ["LogSource", "open_log"]

FOLLOW_POLL = 0.25
"""Seconds between two looks at a followed file that has not grown."""


class LogSource:
    """The lines of one log; :attr:`skipped` counts the lines that were not JSON objects."""

    def __init__(self, stream: IO[bytes], *, follow: bool = False) -> None:
        self.stream = stream
        self.follow = follow
        self.skipped = 0
        self.read_bytes = 0
        self.sleep: Callable[[float], None] = time.sleep
        self.on_caught_up: Callable[[], None] = lambda: None
        """Called once, following, when the lines written so far are read."""

    def lines(self) -> Iterator[bytes]:
        """Each line, then (following) each line appended later, until interrupted."""
        stream = self.stream
        for line in stream:
            self.read_bytes += len(line)
            yield line
        if not self.follow:
            return
        self.on_caught_up()
        partial = b""
        while True:
            line = stream.readline()
            if not line:
                self.sleep(FOLLOW_POLL)
                continue
            partial += line
            if partial.endswith(b"\n"):
                self.read_bytes += len(partial)
                yield partial
                partial = b""

    def event(self, line: bytes) -> dict[str, Any] | None:
        """The JSON object on ``line``, or ``None`` (counted in :attr:`skipped`)."""
        stripped = line.strip()
        if not stripped.startswith(b"{"):
            if stripped:
                self.skipped += 1
            return None
        try:
            value = json.loads(stripped)
        except ValueError:
            self.skipped += 1
            return None
        return value if isinstance(value, dict) else None

    def events(self) -> Iterator[dict[str, Any]]:
        for line in self.lines():
            event = self.event(line)
            if event is not None:
                yield event


def open_log(path: str, *, follow: bool = False) -> LogSource:
    """``path``, or standard input for ``-``; raises ``OSError`` when it cannot be opened."""
    if path == "-":
        return LogSource(sys.stdin.buffer, follow=follow)
    return LogSource(open(path, "rb"), follow=follow)
