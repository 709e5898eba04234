"""Output for people and for pipes: tables, colour and progress only on a terminal; plain,
stable, tab-separated lines when piped (``NO_COLOR`` turns colour off as well)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

__all__ = ["Progress", "colour", "is_terminal", "table"]


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def colour(stream: TextIO) -> bool:
    """Colour for ``stream``: a terminal, and ``NO_COLOR`` unset (no-color.org)."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], stream: TextIO) -> None:
    """Aligned columns under a header on a terminal; tab-separated lines, header first, else."""
    cells = [[str(c) if c is not None else "-" for c in row] for row in rows]
    if not is_terminal(stream):
        for row in (list(headers), *cells):
            stream.write("\t".join(c.replace("\t", " ") for c in row) + "\n")
        return
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    widths[-1] = 0  # the last column is not padded
    for row in (list(headers), *cells):
        stream.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        stream.write("\n")


class Progress:
    """``read 12.5 MB`` on the terminal's stderr, at most ten times a second; nothing piped."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = is_terminal(self.stream)
        self._last = 0.0

    def update(self, read_bytes: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= 0.1:
            self._last = now
            self.stream.write(f"\rread {read_bytes / 1e6:.1f} MB")
            self.stream.flush()

    def done(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\r\033[K")
            self.stream.flush()
