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
from functools import lru_cache
from typing import Any

from seawall.config.schema import RedactionSettings
from seawall.errors.safe_text import safe_repr, safe_str
from seawall.observability.redaction.anchors import AnchorIndex
from seawall.observability.redaction.decode import ESCAPE, decoded
from seawall.observability.redaction.detectors import DETECTORS
from seawall.observability.redaction.entropy import NAME as HIGH_ENTROPY
from seawall.observability.redaction.entropy import random_spans
from seawall.observability.redaction.escape import escape
from seawall.observability.redaction.keys import KeyMatcher
from seawall.observability.redaction.loose import LooseReader, cli_spans
from seawall.observability.redaction.pairs import PairReader, Span, cookie_spans, gated_value
from seawall.observability.redaction.pattern import Detector
from seawall.observability.redaction.walk import KeyInfo, Walk

__all__ = ["Redactor"]

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}://")
_URL_END = re.compile(r"[\s\"'<>]")
_AUTHORITY_END = re.compile(r"[/?#]")
_MARK = "[REDACTED"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Parts of sensitive key names: the pair scanner runs only on text that holds one. The most
# common first: the test stops at the first found ("pw" covers "pwd", "sess" "session").
_KEY_STEMS = (
    "key", "token", "pass", "secret", "pw", "auth", "cookie", "sess", "sid", "dsn", "sig",
    "otp", "pin", "cvv", "cvc", "card", "pan", "cred", "bearer", "conn", "url", "login",
    "salt", "seed", "jwt", "licen", "remember", "pat", "sas",
)  # fmt: skip
# The short flags cli_spans reads: a text without one skips it (most " -" are dashes or long
# flags, read by the pair reader).
_SHORT_FLAGS = re.compile(r" -(?:[upaPwUk]|-user|-proxy-user|-auth)")
_TRUNCATED = "...[truncated]"
_CACHE_SIZE = 4096
_SCAN_MARGIN = 4096
_LOG_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


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
        self._anchors = _anchor_index(tuple(detectors))
        self._url = enabled("url_userinfo")
        self._text_cache: dict[str, str] = {}
        self._key_cache: dict[str, KeyInfo] = {}
        self._pairs = {
            label: enabled(label) for label in ("key_value", "dsn_password", "query_param")
        }
        self._any_pairs = any(self._pairs.values())
        self._pair_reader = PairReader(self.keys, self._pairs)
        self._loose = LooseReader(self.keys) if self._pairs["key_value"] else None
        self._cookies = enabled("cookie")
        self._random = enabled(HIGH_ENTROPY)
        self._limit = settings.max_field_length
        self._hmac_key = (
            (settings.hmac_key or "").encode() if settings.placeholder == "hmac" else None
        )
        self._walk = Walk(
            self.text, self._text_cache, self._key_info, self._key_cache, self._leaf,
            _credential_value, settings.max_depth, settings.max_items,
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

    def _spans(self, text: str, decode: int = 2) -> list[Span]:
        if len(text) < 8:
            return []
        spans = self._plain_spans(text)
        if (
            decode
            and ("%" in text or "\\" in text or "&" in text)
            and ESCAPE.search(text) is not None
        ):
            # Escaped text ("user%5Bpassword%5D=v") is read decoded; what is found there is
            # replaced in the original, and each escape decoded at most twice (%253D).
            plain, starts = decoded(text)
            spans += [
                (starts[a], starts[b], label) for a, b, label in self._spans(plain, decode - 1)
            ]
        return spans

    def _plain_spans(self, text: str) -> list[Span]:
        lowered = text.lower()
        if len(lowered) != len(text):
            # A few letters lower to two ("İ"): what is found in ``lowered`` is replaced at the
            # same place in ``text``, so such a text is lowered in ASCII only, letter for letter.
            lowered = text.translate(_ASCII_LOWER)
        spans: list[Span] = []
        for detector, anchors in self._anchors.selected(text, lowered):
            if detector.at_anchor:
                _at_anchors(detector, anchors, text, lowered, spans)
            else:
                for match in detector.pattern.finditer(text):
                    _keep(detector, match, spans)
        if self._url and "://" in text:
            spans += self._url_spans(text)
        # The one-character tests first (memchr in C), the stem tests only where a pair can be;
        # "cookie" is a stem itself.
        if self._any_pairs and ("=" in text or ":" in text or "<" in text or "--" in text):
            if _has_key_stem(lowered):
                found = self._pair_reader.spans(text)
                spans += found
                # Keys without an assignment (blanks, calls, commas, defaults) where the
                # assignments hid nothing, or where a call, a list or a default may stand.
                if self._loose is not None and (
                    not found or "(" in text or "," in text or "|" in text or "??" in text
                ):
                    spans += self._loose.spans(text, lowered)
        elif self._loose is not None:  # its one regex call is the test for a key word
            spans += self._loose.spans(text, lowered)
        if self._loose is not None and " -" in text and _SHORT_FLAGS.search(text) is not None:
            spans += cli_spans(text)
        if self._cookies and "cookie" in lowered:
            spans += cookie_spans(text, self.keys)
        if self._random:  # last: a token another detector names keeps that name
            spans += random_spans(text, spans)
        return spans

    def _url_spans(self, text: str) -> list[Span]:
        """Userinfo of URLs, split on the last ``@`` of the authority; any characters allowed.

        Every search is bounded by the current run (text up to the next space or quote), and
        each run's end and last ``@`` are found once, so many URLs in one run stay linear.
        """
        spans: list[Span] = []
        start = 0
        run_end = last_at = -1
        while (separator := text.find("://", start)) >= 0:
            # A scheme is at most 31 characters and ends at this "://", never at the previous
            # one: scanning only that window is much cheaper than trying every letter.
            window = max(start, separator - 31)
            start = separator + 3
            if _SCHEME.search(text, window, start) is None:
                continue
            if start > run_end:
                end_match = _URL_END.search(text, start)
                run_end = end_match.start() if end_match else len(text)
                last_at = text.rfind("@", start, run_end)
            if last_at < start:
                continue
            authority_end = _AUTHORITY_END.search(text, start, run_end)
            cut = authority_end.start() if authority_end else run_end
            at = text.rfind("@", start, cut)
            if at < 0:
                colon = text.find(":", start, cut)
                # A password holding '/', '?' or '#': the '@' comes after the first of them.
                if colon < 0 or text[colon + 1 : cut].isdigit():
                    continue
                at = last_at
            colon = text.find(":", start, at)
            first = colon + 1 if colon >= 0 else start
            if at > first:
                spans.append((first, at, "url_userinfo"))
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
        return self._walk.redact(obj)

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

    def _key_info(self, key: object) -> KeyInfo:
        """The key as it may be logged (itself redacted: a key can be an e-mail address or a
        DSN) and the placeholder for its value if the key is sensitive; cached per key."""
        name = key if isinstance(key, str) else safe_repr(key)
        cache = self._key_cache
        info = cache.get(name)
        if info is None:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            label = self.keys.label(name)
            gated = label is None and self.keys.gated(name)
            if gated:
                label = "key"
            info = cache[name] = (
                self._text(name)[: self._limit],
                None if label is None else f"[REDACTED:{label}]",
                gated,
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

    def _redact_message(self, record: logging.LogRecord) -> None:
        """The message as it will be written, redacted. The template and redacted arguments are
        kept (records stay groupable) only when they format to that same text; a secret split
        between them (``"Bearer %s"``) or a placeholder inside ``%s`` makes the formatted text
        the message. Arguments that do not format never reach stderr: the template stays,
        with a marker."""
        msg, args = record.msg, record.args
        if not args:
            record.msg = self.text(msg) if isinstance(msg, str) else self.redact(msg)
            return
        try:
            formatted = str(msg) % args
        except Exception as exc:  # the arguments do not fit the template
            marker = f"[REDACTED:unformattable arguments: {type(exc).__name__}]"
            record.msg = f"{self.text(safe_str(msg))} {marker}"
            record.args = None
            return
        message = self.text(formatted)
        if isinstance(msg, str):
            template = self.text(msg)
            kept = (
                self.redact(args)
                if isinstance(args, Mapping)
                else tuple(a if isinstance(a, int | float) else self.redact(a) for a in args)
            )
            try:
                if template % kept == message:
                    record.msg, record.args = template, kept
                    return
            except Exception:  # the redacted args no longer fit the template: keep the text
                pass
        record.msg, record.args = message, None

    def redact_record_in_place(self, record: logging.LogRecord) -> None:
        """Redact msg, args, exception text, stack info and extra attributes of ``record``."""
        self._redact_message(record)
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


@lru_cache(maxsize=16)
def _anchor_index(detectors: tuple[Detector, ...]) -> AnchorIndex:
    """One index per detector set: building its regex takes far longer than a redactor."""
    return AnchorIndex(detectors)


def _at_anchors(
    detector: Detector, anchors: tuple[str, ...], text: str, lowered: str, spans: list[Span]
) -> None:
    """The detector's matches added to ``spans``, each tried only where one of ``anchors``
    (those of its anchors that occur in the text) does."""
    source = lowered if detector.case_insensitive_anchors else text
    match_at = detector.pattern.match
    before = detector.before
    for anchor in anchors:
        at = source.find(anchor)
        while at >= 0:
            start = at
            if before:
                floor = max(0, at - 64)
                while start > floor and text[start - 1] in before:
                    start -= 1
            match = match_at(text, start)
            if match is None:
                at = source.find(anchor, at + 1)
            else:
                _keep(detector, match, spans)
                at = source.find(anchor, max(match.end(), at + 1))


def _keep(detector: Detector, match: re.Match[str], spans: list[Span]) -> None:
    """The span of the detector's group in ``match``, unless it is empty, a placeholder
    already or fails the detector's check."""
    group = detector.group
    found = match.group(group)
    if found and not found.startswith(_MARK):
        check = detector.check
        if check is None or check(found):
            start, end = match.span(group)  # one call, not start() and end()
            spans.append((start, end, detector.name))


def _credential_value(value: Any) -> bool:
    """A value under a ``key``/``login`` key that has the shape of a credential."""
    return isinstance(value, str) and gated_value(value)


def _has_key_stem(lowered: str) -> bool:
    # A plain loop: any() over a generator costs more than the substring tests themselves.
    for stem in _KEY_STEMS:  # noqa: SIM110
        if stem in lowered:
            return True
    return False
