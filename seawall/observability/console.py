"""The console renderer's view of events: tracebacks as Python prints them, redacted.

Redaction escapes control characters, so a multi-line traceback would come out as one line.
For the console, :func:`split_lines` turns multi-line text into a list of lines before the
redactor runs (each line is redacted on its own), and :class:`ConsoleTraceback` joins them
back afterwards; seawall's own error events (frames as data) become the familiar
``Traceback (most recent call last):`` block with source lines, redacted too.
"""

from __future__ import annotations

import linecache
import re
from collections.abc import Callable
from typing import Any

from structlog.typing import EventDict, WrappedLogger

__all__ = ["ConsoleTraceback", "split_lines", "strip_ansi"]

_MULTI_LINE = ("exception", "stack")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n"


def strip_ansi(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Drop terminal colour codes a library put in its message (Werkzeug colours its request
    lines): the renderer colours for terminals, and elsewhere they would print as ``\\x1b[31m``."""
    event = event_dict.get("event")
    if isinstance(event, str) and "\x1b" in event:
        event_dict["event"] = _ANSI.sub("", event)
    return event_dict


def split_lines(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Before redaction: rendered tracebacks and stacks as lists of lines."""
    for key in _MULTI_LINE:
        value = event_dict.get(key)
        if isinstance(value, str) and "\n" in value:
            event_dict[key] = value.rstrip("\n").split("\n")
    return event_dict


class ConsoleTraceback:
    """After redaction: lines joined again, and seawall's error events as a Python traceback
    (source lines read with ``linecache`` and redacted, like everything else)."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        self._redact = redact

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
        frames = event_dict.get("traceback")
        if isinstance(frames, list) and isinstance(event_dict.get("exception"), str):
            event_dict["exception"] = self._traceback(event_dict, frames)
        for key in _MULTI_LINE:
            value = event_dict.get(key)
            if isinstance(value, list) and all(isinstance(line, str) for line in value):
                event_dict[key] = "\n".join(value)
        return event_dict

    def _traceback(self, event_dict: EventDict, frames: list[Any]) -> str:
        event_dict.pop("traceback")
        lines: list[str] = []
        causes = event_dict.pop("causes", None)
        for cause in reversed(causes if isinstance(causes, list) else []):
            if isinstance(cause, dict):
                lines += [_last_line(cause.get("exception"), cause.get("message")), _CAUSE]
        lines.append("Traceback (most recent call last):")
        for frame in frames:
            if not isinstance(frame, dict):
                continue
            file, line = frame.get("file"), frame.get("line")
            lines.append(f'  File "{file}", line {line}, in {frame.get("function")}')
            if isinstance(file, str) and isinstance(line, int):
                source = linecache.getline(file, line).strip()
                if source:
                    lines.append("    " + self._redact(source))
        lines.append(_last_line(event_dict.pop("exception"), event_dict.pop("message", None)))
        return "\n".join(lines)


def _last_line(exception: object, message: object) -> str:
    """``RuntimeError: message`` as Python writes it (no ``builtins.`` prefix)."""
    name = str(exception).removeprefix("builtins.")
    return f"{name}: {message}" if message else name
