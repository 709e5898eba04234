"""The redactor: replaces secrets by key and by value, escapes control characters, bounds size.

All detectors look at the original text; their spans are merged and replaced in one pass, so
no detector sees another's placeholder and redacting twice changes nothing. Inputs are never
mutated; a value that cannot be rendered or redacted is replaced (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any

from seawall.config.schema import RedactionSettings
from seawall.errors.safe_text import safe_repr, safe_str
from seawall.observability.redaction.anchors import AnchorIndex
from seawall.observability.redaction.detectors import DETECTORS, Detector
from seawall.observability.redaction.escape import escape
from seawall.observability.redaction.keys import KeyMatcher
from seawall.observability.redaction.walk import make_walk

__all__ = ["Redactor"]

_KEY_VALUE = re.compile(
    # The value is a lookahead: the scan resumes right after each separator, so a harmless
    # pair ("failed: password=x") never hides the sensitive one inside its value. The key is
    # possessive: what may follow it is never a key character, so giving characters back
    # cannot help, and a failed attempt costs one pass over the word instead of 64.
    r"(?P<key>[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,63}+)[\"']?[ \t]{0,4}[:=][ \t]{0,4}"
    r"(?=(?P<value>\"[^\"\n]{1,4096}\"|'[^'\n]{1,4096}'|[^\s\"',;&}<>\])]{1,4096}))"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}://")
_URL_END = re.compile(r"[\s\"'<>]")
_AUTHORITY_END = re.compile(r"[/?#]")
_MARK = "[REDACTED"
# Parts of sensitive key names: the pair scanner runs only on text that holds one.
_KEY_STEMS = (
    "pass", "pwd", "secret", "token", "key", "auth", "cookie", "session", "sid", "dsn", "sig",
    "otp", "pin", "cvv", "cvc", "card", "pan", "cred", "bearer", "conn", "url",
)  # fmt: skip
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "apikey", "negotiate"})
_TRUNCATED = "...[truncated]"
_CACHE_SIZE = 4096
_SCAN_MARGIN = 4096
_LOG_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

Span = tuple[int, int, str]


class Redactor:
    """Redacts strings, bytes, mappings, sequences, exceptions and log records.

    >>> Redactor().text("db postgresql://app:hunter2@db/shop, mail ann@example.com")
    'db postgresql://app:[REDACTED:url_userinfo]@db/shop, mail [REDACTED:email]'
    """

    def __init__(self, settings: RedactionSettings | None = None) -> None:
        self.settings = settings = settings or RedactionSettings()
        self.keys = KeyMatcher(settings.keys, settings.safe_keys)
        enabled = settings.detector_enabled
        detectors = [d for d in DETECTORS if enabled(d.name)]
        detectors += [
            Detector(name, re.compile(pattern), ()) for name, pattern in settings.patterns.items()
        ]
        self._anchors = AnchorIndex(detectors)
        self._url = enabled("url_userinfo")
        self._text_cache: dict[str, str] = {}
        self._key_cache: dict[str, tuple[str, str | None]] = {}
        self._pairs = {
            label: enabled(label) for label in ("key_value", "dsn_password", "query_param")
        }
        self._any_pairs = any(self._pairs.values())
        self._limit = settings.max_field_length
        self._hmac_key = (
            (settings.hmac_key or "").encode() if settings.placeholder == "hmac" else None
        )
        self._walk = make_walk(
            self.text, self._text_cache, self._key_info, self._key_cache, self._leaf,
            settings.max_depth, settings.max_items,
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: RedactionSettings | None = None) -> Redactor:
        return cls(settings)

    # -- text -----------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """Secrets in free text replaced, control characters escaped, length capped.

        Short strings repeat in logs (event names, levels, routes), so their results are cached
        (bounded, in process memory only).
        """
        if len(value) > 64:
            return self._text(value)
        cache = self._text_cache
        result = cache.get(value)
        if result is None:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            result = cache[value] = self._text(value)
        return result

    def _text(self, value: str) -> str:
        try:
            limit = self._limit
            truncated = len(value) > limit
            if truncated:
                value = value[: limit + _SCAN_MARGIN]
            spans = self._spans(value)
            if spans:
                value = self._apply(value, spans)
            value = escape(value)
            if truncated or len(value) > limit:
                value = value[: limit - len(_TRUNCATED)] + _TRUNCATED
            return value
        except Exception:
            return "[REDACTED:unredactable]"

    def _spans(self, text: str) -> list[Span]:
        if len(text) < 8:
            return []
        lowered = text.lower()
        spans: list[Span] = []
        for detector in self._anchors.detectors_for(text, lowered):
            group, check = detector.group, detector.check
            for match in detector.pattern.finditer(text):
                found = match.group(group)
                if found and not found.startswith(_MARK) and (check is None or check(found)):
                    spans.append((match.start(group), match.end(group), detector.name))
        if self._url and "://" in text:
            spans += self._url_spans(text)
        if self._any_pairs and ("=" in text or ":" in text) and _has_key_stem(lowered):
            spans += self._pair_spans(text)
        return spans

    def _url_spans(self, text: str) -> list[Span]:
        """Userinfo of URLs, split on the last ``@`` of the authority; any characters allowed."""
        spans: list[Span] = []
        start = 0
        while (separator := text.find("://", start)) >= 0:
            # A scheme is at most 31 characters and ends at this "://", never at the previous
            # one: scanning only that window is much cheaper than trying every letter.
            window = max(start, separator - 31)
            start = separator + 3
            if _SCHEME.search(text, window, start) is None:
                continue
            end_match = _URL_END.search(text, start)
            run = text[start : end_match.start() if end_match else len(text)]
            authority_end = _AUTHORITY_END.search(run)
            cut = authority_end.start() if authority_end else len(run)
            at = run.rfind("@", 0, cut)
            if at < 0:
                authority = run[:cut]
                colon = authority.find(":")
                # A password holding '/', '?' or '#': the '@' comes after the first of them.
                if colon < 0 or authority[colon + 1 :].isdigit() or "@" not in run:
                    continue
                at = run.rfind("@")
            userinfo = run[:at]
            colon = userinfo.find(":")
            first = start + colon + 1 if colon >= 0 else start
            if start + at > first:
                spans.append((first, start + at, "url_userinfo"))
        return spans

    def _pair_spans(self, text: str) -> list[Span]:
        """``key=value`` and ``"key": "value"`` pairs (query strings, DSNs, JSON) with a
        sensitive key."""
        spans: list[Span] = []
        label_of = self.keys.label
        for match in _KEY_VALUE.finditer(text):
            if label_of(match.group("key")) is None:
                continue
            before = text[match.start() - 1] if match.start() else " "
            kind = (
                "query_param"
                if before in "?&"
                else "dsn_password"
                if before == ";"
                else "key_value"
            )
            if not self._pairs[kind]:
                continue
            start, end = match.span("value")
            if match.group("value").lower() in _AUTH_SCHEMES:
                continue  # "Authorization: Bearer <token>": the auth_header detector takes it
            if text[start] in "\"'":
                start, end = start + 1, end - 1
            if not text.startswith(_MARK, start):
                spans.append((start, end, kind))
        return spans

    def _apply(self, text: str, spans: list[Span]) -> str:
        spans.sort()
        out: list[str] = []
        position = 0
        for start, end, label in spans:
            if start < position:  # overlaps the previous replacement: extend it
                position = max(position, end)
                continue
            out.append(text[position:start])
            out.append(self._placeholder(label, text[start:end]))
            position = end
        out.append(text[position:])
        return "".join(out)

    def _placeholder(self, label: str, secret: str) -> str:
        if self._hmac_key is not None:
            digest = hmac.new(self._hmac_key, secret.encode(), hashlib.sha256).hexdigest()
            return f"[REDACTED:{label}:{digest[:12]}]"
        if label == "card" and self.settings.card_last4:
            digits = "".join(c for c in secret if c.isdigit())
            return f"[REDACTED:card:{digits[-4:]}]"
        return f"[REDACTED:{label}]"

    # -- structures -----------------------------------------------------------------------

    def redact(self, obj: Any) -> Any:
        """A redacted copy: str -> str, mapping -> dict (same keys), sequence -> list,
        exception -> its redacted rendering, LogRecord -> a redacted copy."""
        return self._walk(obj)

    def _leaf(self, obj: Any) -> Any:
        """A value the walk does not descend into, redacted."""
        if isinstance(obj, str):
            return self.text(str(obj))
        if isinstance(obj, bool | int | float):
            return obj
        if isinstance(obj, bytes | bytearray | memoryview):
            return self.text(bytes(obj).decode("utf-8", "backslashreplace"))
        if isinstance(obj, BaseException):
            return self.exception_text(obj)
        if isinstance(obj, logging.LogRecord):
            return self.record(obj)
        return self.text(safe_repr(obj))

    def _key_info(self, key: object) -> tuple[str, str | None]:
        """The key as it may be logged (escaped) and the placeholder for its value if the key
        is sensitive; cached per key (keys repeat)."""
        name = key if isinstance(key, str) else safe_repr(key)
        cache = self._key_cache
        info = cache.get(name)
        if info is None:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            label = self.keys.label(name)
            info = cache[name] = (
                escape(name)[: self._limit],
                None if label is None else f"[REDACTED:{label}]",
            )
        return info

    def exception_text(self, exc: BaseException) -> str:
        """``Type: message``, notes, chained causes and group members, all redacted, one line."""
        parts: list[str] = []
        seen: set[int] = set()
        current: BaseException | None = exc
        link = ""
        while current is not None and id(current) not in seen and len(seen) < 10:
            seen.add(id(current))
            parts.append(f"{link}{type(current).__qualname__}: {safe_str(current)}")
            notes = getattr(current, "__notes__", None)
            if isinstance(notes, list):
                parts += [f"note: {safe_str(note)}" for note in notes[:10]]
            if isinstance(current, BaseExceptionGroup):
                parts += [
                    f"sub-exception {type(e).__qualname__}: {safe_str(e)}"
                    for e in current.exceptions[:10]
                ]
            if current.__cause__ is not None:
                current, link = current.__cause__, "caused by "
            elif not current.__suppress_context__ and current.__context__ is not None:
                current, link = current.__context__, "while handling "
            else:
                current = None
        return self.text(" | ".join(parts))

    def record(self, record: logging.LogRecord) -> logging.LogRecord:
        """A redacted copy of a log record: message template kept, each argument redacted."""
        copy = logging.makeLogRecord(record.__dict__)
        self.redact_record_in_place(copy)
        return copy

    def redact_record_in_place(self, record: logging.LogRecord) -> None:
        """Redact msg, args, exception text, stack info and extra attributes of ``record``."""
        record.msg = (
            self.text(record.msg) if isinstance(record.msg, str) else self.redact(record.msg)
        )
        if isinstance(record.args, Mapping):
            record.args = self.redact(record.args)
        elif record.args:
            record.args = tuple(
                arg if isinstance(arg, int | float) else self.redact(arg) for arg in record.args
            )
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.text(record.stack_info)
        label_of = self.keys.label
        for name, value in list(record.__dict__.items()):
            if name in _LOG_RECORD_FIELDS or name.startswith("_"):
                continue
            label = label_of(name)
            record.__dict__[name] = f"[REDACTED:{label}]" if label else self.redact(value)


def _has_key_stem(lowered: str) -> bool:
    # A plain loop: any() over a generator costs more than the substring tests themselves.
    for stem in _KEY_STEMS:  # noqa: SIM110
        if stem in lowered:
            return True
    return False
