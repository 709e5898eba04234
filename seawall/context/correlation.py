"""Correlation ids: strict validation, generation, W3C traceparent parsing and the contextvar.

One check for every source (header, generator, traceparent, programmatic set): the whole
value is ASCII letters, digits or ``-_.:`` and 1 to ``max_length`` characters. Anything else is
invalid; its raw text never reaches a log line or a response, only an escaped, truncated hint.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar, Token
from typing import Final

from seawall.config.schema import CorrelationSettings

__all__ = [
    "CORRELATION_ID",
    "CorrelationPolicy",
    "Resolution",
    "get_correlation_id",
    "hint",
    "is_valid",
    "parse_traceparent",
    "reset_correlation_id",
    "set_correlation_id",
    "uuid4_hex",
    "uuid7_hex",
]

CORRELATION_ID: ContextVar[str | None] = ContextVar("seawall_correlation_id", default=None)
"""The current request's id; seawall's layers set and reset it with a token."""
_VALID = {n: re.compile(rb"[A-Za-z0-9._:-]{1,%d}" % n).fullmatch for n in (128,)}
_TRACEPARENT = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_HINT_LENGTH = 16


# Bound once: compiled code calls a bound method directly but looks one up by name each call.
_get: Final = CORRELATION_ID.get


def get_correlation_id() -> str | None:
    """The current request's correlation id, or ``None`` outside a request."""
    return _get()


def set_correlation_id(value: str, *, max_length: int = 128) -> Token[str | None]:
    """Set the id for the current context after validating it; reset with the returned token."""
    if not is_valid(value, max_length):
        raise ValueError(f"invalid correlation id {hint(value)}")
    return CORRELATION_ID.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    """Restore the id that was current before the matching :func:`set_correlation_id`."""
    CORRELATION_ID.reset(token)


def _matcher(max_length: int) -> Callable[[bytes], re.Match[bytes] | None]:
    matcher = _VALID.get(max_length)
    if matcher is None:
        matcher = _VALID[max_length] = re.compile(rb"[A-Za-z0-9._:-]{1,%d}" % max_length).fullmatch
    return matcher


def is_valid(value: str | bytes, max_length: int = 128) -> bool:
    """True when the whole value is 1..max_length characters of ``[A-Za-z0-9._:-]``."""
    if isinstance(value, str):
        if not value.isascii():
            return False
        value = value.encode("ascii")
    elif not isinstance(value, bytes):
        return False
    return _matcher(max_length)(value) is not None


def hint(value: str | bytes | None) -> str:
    """A log-safe, truncated, escaped hint of an invalid value (never the raw text)."""
    if value is None:
        return "(none)"
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "backslashreplace")
    shown = raw[:_HINT_LENGTH].decode("ascii", "backslashreplace")
    escaped = "".join(c if 0x20 < ord(c) < 0x7F else f"\\x{ord(c):02x}" for c in shown)
    suffix = f"...({len(raw)} bytes)" if len(raw) > _HINT_LENGTH else ""
    return f"'{escaped}'{suffix}"


_V4_VERSION = bytes((b & 0x0F) | 0x40 for b in range(256))  # byte 6: version 4
_V4_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))  # byte 8: RFC 4122 variant
_BATCH: Final = 256


_unused: Final[list[str]] = []
"""Random ids made and not yet handed out, shared by the process's threads.

``list.pop`` is atomic, so no lock and no thread-local lookup (a thread-local attribute cost
more than making the id): each id is handed out once whichever thread takes it.
"""


def _forget_batch() -> None:
    # A forked worker must never hand out the ids its parent's batch still holds.
    _unused.clear()


os.register_at_fork(after_in_child=_forget_batch)


def uuid4_hex() -> str:
    """A random (version 4) UUID as 32 hex digits.

    Made 256 at a time: one ``urandom`` call and a few C calls per batch.
    """
    unused = _unused
    if unused:
        try:
            return unused.pop()
        except IndexError:  # another thread took the last one since the check
            pass
    raw = bytearray(os.urandom(16 * _BATCH))
    raw[6::16] = raw[6::16].translate(_V4_VERSION)
    raw[8::16] = raw[8::16].translate(_V4_VARIANT)
    text = raw.hex()
    fresh = [text[i : i + 32] for i in range(0, 32 * _BATCH, 32)]
    value = fresh.pop()
    unused.extend(fresh)
    return value


def _random_bits(count: int) -> int:
    """``count`` (at most 128) random bits."""
    return int(uuid4_hex(), 16) >> (128 - count)


def uuid7_hex() -> str:
    """A time-ordered (version 7) UUID as 32 hex digits: sortable ids for log search."""
    millis = time.time_ns() // 1_000_000
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | _random_bits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    return f"{value:032x}"


def parse_traceparent(value: bytes) -> str | None:
    """The trace id of a valid W3C ``traceparent`` header, else ``None`` (strict parse).

    A comma means several headers joined into one (as WSGI servers do): invalid, like several
    headers (W3C Trace Context: a request with more than one ``traceparent`` has none valid).
    """
    if b"," in value:
        return None
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == b"ff" or (version == b"00" and rest is not None):
        return None
    if trace_id == b"0" * 32 or parent_id == b"0" * 16:
        return None
    return trace_id.decode("ascii")


Resolution = tuple[str, str | None]
"""A request's id, and an escaped hint of the client's id when that one was invalid."""


class CorrelationPolicy:
    """Decides a request's correlation id from its raw ASGI-style header list."""

    __slots__ = (
        "_accept", "_environ_keys", "_generate", "_header_names", "_match", "_match_str", "_single",
        "_traceparent", "max_length",
        "reject_invalid", "response_header", "response_header_bytes",
    )  # fmt: skip

    def __init__(self, settings: CorrelationSettings | None = None) -> None:
        settings = settings or CorrelationSettings()
        self.max_length = settings.max_length
        self._match = _matcher(settings.max_length)
        self._header_names = tuple(h.lower().encode("latin-1") for h in settings.headers)
        self._accept = settings.incoming != "ignore"
        self.reject_invalid = settings.incoming == "reject"
        self._traceparent = settings.traceparent
        self._environ_keys = tuple(
            "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            for name in self._header_names
        )
        self._match_str = re.compile(rf"[A-Za-z0-9._:-]{{1,{settings.max_length}}}").fullmatch
        single = self._accept and len(self._header_names) == 1 and not self._traceparent
        self._single = self._header_names[0] if single else None
        self.response_header = settings.response_header
        self.response_header_bytes = settings.response_header.lower().encode("latin-1")
        if settings.generator is not None:
            self._generate = _checked(settings.generator, self._match)
        elif settings.generator_name == "uuid7":
            self._generate = uuid7_hex
        else:
            self._generate = uuid4_hex

    def generate(self) -> str:
        """A fresh id from the configured generator (validated)."""
        return self._generate()

    def resolve(self, headers: Iterable[tuple[bytes, bytes]]) -> Resolution:
        """Pick the id for a request: a valid incoming id, a traceparent trace id, or a new one."""
        target = self._single
        if target is not None:  # the common case, one id header and no traceparent
            found: bytes | None = None
            duplicate = False
            for name, value in headers:
                if name == target:
                    duplicate = found is not None
                    found = value
            if found is None:
                return (self._generate(), None)
            if not duplicate and self._match(found) is not None:
                return (found.decode("ascii"), None)
            return (self._generate(), "(several values)" if duplicate else hint(found))
        if not self._accept:
            return (self._generate(), None)
        names = self._header_names
        found = None
        found_rank = len(names)
        duplicate = False
        traceparent: bytes | None = None
        traceparents = 0
        for name, value in headers:
            if name in names:
                rank = names.index(name)
                if rank == found_rank:
                    duplicate = True
                elif rank < found_rank:
                    found, found_rank, duplicate = value, rank, False
            elif name == b"traceparent":
                traceparent = value
                traceparents += 1
        if found is not None:
            if not duplicate and self._match(found) is not None:
                return (found.decode("ascii"), None)
            shown = "(several values)" if duplicate else hint(found)
            return (self._generate(), shown)
        if traceparent is not None and self._traceparent and traceparents == 1:
            trace_id = parse_traceparent(traceparent)
            if trace_id is not None:
                return (trace_id, None)
        return (self._generate(), None)

    def resolve_environ(self, environ: Mapping[str, object]) -> Resolution:
        """The WSGI twin of :meth:`resolve`, reading ``HTTP_*`` keys.

        WSGI servers join repeated headers with commas, which the allowlist already rejects.
        """
        if self._single is not None:
            value = environ.get(self._environ_keys[0])
            if not isinstance(value, str):
                return (self._generate(), None)
            if value.isascii() and self._match_str(value) is not None:
                return (value, None)
            return (self._generate(), hint(value.encode("latin-1", "backslashreplace")))
        pairs: list[tuple[bytes, bytes]] = []
        for name, key in zip(self._header_names, self._environ_keys, strict=True):
            value = environ.get(key)
            if isinstance(value, str):
                pairs.append((name, value.encode("latin-1", "backslashreplace")))
        if self._traceparent:
            value = environ.get("HTTP_TRACEPARENT")
            if isinstance(value, str):
                pairs.append((b"traceparent", value.encode("latin-1", "backslashreplace")))
        return self.resolve(pairs)


def _checked(
    generator: Callable[[], str], match: Callable[[bytes], re.Match[bytes] | None]
) -> Callable[[], str]:
    """Wrap a user generator so that its values pass the same validation as incoming ids."""

    def generate() -> str:
        value = generator()
        if not isinstance(value, str) or not value.isascii() or match(value.encode()) is None:
            raise ValueError(
                f"correlation.generator returned an invalid id {hint(str(value))}: ids are "
                "1 to max_length characters of letters, digits and -_.:"
            )
        return value

    return generate
