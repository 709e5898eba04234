"""The one structured log event of a failed request: redacted, bounded, groupable.

Frames are read from ``__traceback__`` directly (file, line, function; no locals unless asked),
which is several times cheaper than formatting a traceback and leaves nothing to leak.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import sysconfig
from collections.abc import Callable
from types import CodeType, TracebackType
from typing import Any

from seawall.errors.problems import Problem
from seawall.errors.safe_text import safe_repr, safe_str

__all__ = ["APP_FRAME", "PRE_REDACTED", "app_frame", "error_event", "error_message", "fingerprint"]

PRE_REDACTED = "_seawall_redacted"
"""Event key naming the fields that are already redacted, so the log chain need not redo them.

Only the fields listed are skipped; anything merged into the event later (context variables,
user processors) is still redacted.
"""
_SAFE_FIELDS = (
    "message", "causes", "traceback", "sub_exceptions", "fingerprint", "exception", "error_id",
    "correlation_id", "status", "classification", "app_frame",
)  # fmt: skip

_INSTALL = sysconfig.get_paths()
_LIBRARY_PATHS = (
    *{p for p in (_INSTALL.get("stdlib"), _INSTALL.get("purelib"), _INSTALL.get("platlib")) if p},
    sys.prefix + os.sep + "lib",  # the running interpreter's own prefix (venvs, system Pythons)
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # seawall itself
)
"""Where frames are library code, which the fingerprint leaves out: it groups by the app's code."""
_MAX_CAUSES = 8


def _frames(tb: TracebackType | None) -> list[tuple[str, int, str, Any]]:
    frames: list[tuple[str, int, str, Any]] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, tb.tb_lineno, code.co_name, tb.tb_frame))
        tb = tb.tb_next
    return frames


def _is_app_code(filename: str) -> bool:
    return not filename.startswith(_LIBRARY_PATHS)


APP_FRAME = "_seawall_app_frame"
"""Attribute an exception gets with its :func:`app_frame`, so the log's event and analytics
find it once per failure."""
_FRAME_LABELS: dict[int, tuple[CodeType, str | None]] = {}
"""``id`` of a code object to the object (kept alive, so the id is not reused) and its
``file.py:function`` (app code) or ``None`` (library). Keyed by id: hashing a code object
hashes its contents, every time."""
_MAX_LABELS = 10_000


def _remember(exc: BaseException, label: str) -> str:
    with contextlib.suppress(AttributeError, TypeError):  # a class refusing new attributes
        setattr(exc, APP_FRAME, label)
    return label


def _label_of(frames: list[tuple[str, int, str, Any]]) -> str:
    """The innermost app frame of a walked traceback, else the innermost frame."""
    for filename, _, function, _ in reversed(frames):
        if _is_app_code(filename):
            return f"{os.path.basename(filename)}:{function}"
    if not frames:
        return "-"
    return f"{os.path.basename(frames[-1][0])}:{frames[-1][2]}"


def app_frame(exc: BaseException) -> str:
    """``file.py:function`` of the innermost app frame of ``exc``'s traceback (the innermost
    frame when none is app code); error analytics groups by it. Found once per exception."""
    found = getattr(exc, APP_FRAME, None)
    if isinstance(found, str):
        return found
    labels = _FRAME_LABELS
    label: str | None = None
    last: CodeType | None = None
    tb = exc.__traceback__
    while tb is not None:
        last = tb.tb_frame.f_code
        entry = labels.get(id(last))
        if entry is None or entry[0] is not last:
            if len(labels) >= _MAX_LABELS:
                labels.clear()
            app = _is_app_code(last.co_filename)
            label_here = f"{os.path.basename(last.co_filename)}:{last.co_name}" if app else None
            entry = labels[id(last)] = (last, label_here)
        if entry[1] is not None:
            label = entry[1]
        tb = tb.tb_next
    if label is None:
        label = "-" if last is None else f"{os.path.basename(last.co_filename)}:{last.co_name}"
    return _remember(exc, label)


def fingerprint(exc: BaseException, frames: list[tuple[str, int, str, Any]]) -> str:
    """Stable across requests: exception class plus the app's top frames (no line numbers)."""
    app_frames = [f for f in frames if _is_app_code(f[0])][-5:] or frames[-3:]
    parts = [f"{type(exc).__module__}.{type(exc).__qualname__}"]
    parts += [f"{os.path.basename(f[0])}:{f[2]}" for f in app_frames]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


def error_message(exc: BaseException, redact: Callable[[str], str]) -> str:
    """The exception's text and notes, redacted: the ``message`` of the error event."""
    text = safe_str(exc)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list) and notes:
        text = "; ".join([text, *(safe_str(n) for n in notes[:10])])
    return redact(text)


def _causes(exc: BaseException, redact: Callable[[str], str]) -> list[dict[str, str]]:
    causes: list[dict[str, str]] = []
    seen = {id(exc)}
    current: BaseException | None = exc.__cause__ or (
        None if exc.__suppress_context__ else exc.__context__
    )
    while current is not None and id(current) not in seen and len(causes) < _MAX_CAUSES:
        seen.add(id(current))
        causes.append(
            {
                "exception": f"{type(current).__module__}.{type(current).__qualname__}",
                "message": error_message(current, redact),
            }
        )
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return causes


def error_event(
    exc: BaseException,
    problem: Problem,
    *,
    method: str,
    route: str | None,
    redactor_text: Callable[[str], str],
    frames: int = 30,
    include_locals: bool = False,
) -> dict[str, Any]:
    """The ``request_failed`` event: ids, route, status, class, redacted message, causes, frames."""
    walked = _frames(exc.__traceback__)
    raw_frames = walked[-frames:] if frames else []
    found = getattr(exc, APP_FRAME, None)
    label = found if isinstance(found, str) else _remember(exc, _label_of(walked))
    traceback: list[dict[str, Any]] = []
    for filename, line, function, frame in raw_frames:
        entry: dict[str, Any] = {"file": filename, "line": line, "function": function}
        if include_locals:
            entry["locals"] = {
                redactor_text(str(k)): redactor_text(_short_repr(v))
                for k, v in list(frame.f_locals.items())[:20]
            }
        traceback.append(entry)
    event: dict[str, Any] = {
        "event": "request_failed",
        "correlation_id": problem.extensions.get("correlation_id"),
        "error_id": problem.extensions.get("error_id"),
        "method": method,
        "route": route,
        "status": problem.status,
        "classification": problem.classification,
        "exception": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": error_message(exc, redactor_text),
        "fingerprint": fingerprint(exc, raw_frames),
        "app_frame": label,
        "traceback": traceback,
        PRE_REDACTED: _SAFE_FIELDS,
    }
    causes = _causes(exc, redactor_text)
    if causes:
        event["causes"] = causes
    if isinstance(exc, BaseExceptionGroup):
        event["sub_exceptions"] = [
            {"exception": type(e).__qualname__, "message": error_message(e, redactor_text)}
            for e in exc.exceptions[:10]
        ]
    return event


def _short_repr(value: Any) -> str:
    text = safe_repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
