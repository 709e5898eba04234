"""The key-value reader: values named by a sensitive key, in the syntaxes logs and config dumps use.

``key=v``, ``key: v``, ``"key": "v"``, ``key => v``, ``KEY ?= v``, ``key := v``, ``--key v``,
``<key>v</key>``, ``<add key="k" value="v"/>``, a value on the line after its key, and every
cookie of a ``Cookie:``/``Set-Cookie:`` line. Words before the key (``positionstack token =``)
and a numeric suffix (``token1``) do not hide it. Keys that only sometimes name a secret
(``key``, ``login``) hide their value only when it has the shape of a credential.

Each pattern is bounded, and a value is read only after a sensitive key, once per text
position, so the reader is linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from seawall.observability.redaction.keys import KeyMatcher
from seawall.observability.redaction.shapes import credential_like

__all__ = ["PairReader", "Span", "cookie_spans", "gated_value"]

Span = tuple[int, int, str]

_ASSIGN = (
    r"(?:\\?[\"'])?\]?[ \t]{0,4}"
    r"(?:=>|:::=|::=|:=|\?\?=|\?=|\+=|\|\|=|&&=|\.=|->|::|[:=])"
)
# What precedes an assignment, read backwards: up to four blanks, a closing bracket, a quote
# (escaped or not), then a key: up to 64 key characters, the first of them a letter or "_".
_KEY_BEFORE = re.compile(r"[ \t]{0,4}\]?(?:[\"']\\?)?((?:[A-Za-z0-9_.\-\[\]]{0,63}[A-Za-z_])?)")
_FLAG = re.compile(r"--([A-Za-z][A-Za-z0-9_.\-]{0,63}+)(?=[ \t]{1,4}[^\s=:|&<>\-])")
_SEPARATOR = re.compile(_ASSIGN + r"[ \t]{0,4}|[ \t]{1,4}")
_VALUE = re.compile(
    r"\\\"[^\"\n]{1,4096}?\\\"|\"[^\"\n]{1,4096}\"|'[^'\n]{1,4096}'|`[^`\n]{1,4096}`"
    r"|[^\s\"',;&}<>\])`]{1,4096}"
)
_NEXT_LINE = re.compile(
    r"[ \t]{0,4}\r?\n[ \t]{0,32}(?:- )?([\"']?)([^\s\"':=#]{6,4096})\1[ \t]*(?=\r?\n|$)"
)
_XML = re.compile(
    r"<([A-Za-z_][A-Za-z0-9_.\-:]{0,63}+)(?:[ \t][^<>\n]{0,256})?>"
    r"(?:[ \t]{0,64}\r?\n)?([^<\n]{1,4096})(?:\n[ \t]{0,64})?</\1>"
)
# The word boundary is checked after each name's first letter, not before it: the pattern then
# starts with a literal, and the regex engine skips to the next "k", "n" or "i" in C.
_ATTRIBUTES = re.compile(
    r"(?:k(?<!\wk)ey|n(?<!\wn)ame|i(?<!\wi)d)[ \t]{0,2}=[ \t]{0,2}[\"']([^\"'<>\n]{1,64})[\"']"
    r"(?:[ \t]{1,8}(?:value|content)[ \t]{0,2}=[ \t]{0,2}[\"']([^\"'<>\n]{1,4096})[\"']"
    r"|[^<>\n]{0,128}?>([^<\n]{1,4096})<)"
)
_COOKIE = re.compile(r"(?i:\b(?:set-)?cookie2?)[\"']?[ \t]{0,4}[:=][ \t]{0,4}[\"']?")
_COOKIE_PAIR = re.compile(r"[ \t]{0,4}([^=;,\s\"']{1,128})=([^;,\s\"']{1,4096})[ \t]{0,4}[;,]?")
_COOKIE_ATTRIBUTES = frozenset(
    {"expires", "max-age", "domain", "path", "samesite", "secure", "httponly", "priority",
     "partitioned", "version", "comment"}
)  # fmt: skip
_AUTH_SCHEMES = frozenset(
    {"bearer", "basic", "token", "digest", "apikey", "negotiate", "ntlm", "ssws", "hoba",
     "mutual", "vapid", "dpop", "gnap", "privatetoken", "aws4-hmac-sha256"}
)  # fmt: skip
_MARK = "[REDACTED"
_QUOTES = frozenset("\"'`")
_COOKIE_LABELS = frozenset({"cookie", "cookies", "set_cookie", "setcookie"})
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9+/=_\-.~]{12,4096}")
# A YAML tag before a value ("!!str v", "!vault |"), and a block scalar's header ("|", ">-",
# "|2+"), whose value is the indented lines after it.
_TAG = re.compile(r"!{1,2}[A-Za-z0-9_\-./:]{0,64}[ \t]{1,4}")
_BLOCK = re.compile(r"[|>][1-9+\-]{0,2}[ \t]{0,64}(?:#[^\n]{0,256})?(?=\r?\n)")
_KEY_QUOTES = ('"', "'")
_STRING_PREFIXES = frozenset("rbufRBUF@$")
# A string type between a key and its "=" (``apiToken: String = v``, ``TOKEN: str = v``).
_STRING_TYPES = frozenset(
    {"string", "String", "str", "CharSequence", "SecureString", "Optional[str", "Final[str"}
)
_TYPED = re.compile(r"\]?[ \t]{0,4}=(?![=>])[ \t]{0,4}")
_REFERENCE_TYPE = re.compile(r"&(?:'static )?str[ \t]{0,4}=(?![=>])[ \t]{0,4}")
# A tuple or list of up to four quoted strings after a key: auth=("ann", "v").
_TUPLE_ITEM = re.compile(r"\"[^\"\n]{0,256}\"|'[^'\n]{0,256}'")
_TUPLE = re.compile(
    r"[(\[][ \t]{0,4}((?:\"[^\"\n]{0,256}\"|'[^'\n]{0,256}')"
    r"(?:[ \t]{0,4},[ \t]{0,4}(?:\"[^\"\n]{0,256}\"|'[^'\n]{0,256}')){0,3})[ \t]{0,4}[)\]]"
)
_PLAIN_NAME = re.compile(r"[A-Za-z]{0,64}(?:[_\-. ][A-Za-z]{1,64}){0,8}")
# A name/value pair: the key naming the pair, and the sibling holding its value.
_NAME_KEYS = frozenset({"name", "Name", "NAME", "key", "Key", "KEY", "id", "Id", "ID"})
_SIBLING = re.compile(
    r"(?<![A-Za-z0-9_])[\"']?(?:value|Value|VALUE|content|Content)[\"']?[ \t]{0,4}[:=][ \t]{0,4}"
)
_SPACED_KEY = re.compile(r"[A-Za-z0-9_.\- ]{1,64}")


def _assigned_keys(text: str) -> list[tuple[int, int]]:
    """The span of each key followed by an assignment (``=``, ``:``, ``=>``, ``:=``, ``?=``,
    ``+=``, a closing quote or bracket between): read back from each ``:``/``=`` by one regex
    match on the reversed text, never back past the previous key's assignment, so text
    without them costs two scans in C, and each key one bounded match."""
    size = len(text)
    reverse = text[::-1]
    key_before = _KEY_BEFORE.match
    keys: list[tuple[int, int]] = []
    last = 0
    # Each ":" and "=" in order, found by str.find (memchr in C): a regex scan for them costs
    # several times as much on a short line.
    colon, equals = text.find(":"), text.find("=")
    while colon >= 0 or equals >= 0:
        if equals < 0 or 0 <= colon < equals:
            at, colon = colon, text.find(":", colon + 1)
        else:
            at, equals = equals, text.find("=", equals + 1)
        end = at - 1 if at and text[at] == "=" and text[at - 1] in ":?+|&." else at
        while end > last and text[end - 1] in ":?|&":  # "::=", ":::=", "??=", "||=", "&&="
            end -= 1
        key = key_before(reverse, size - end, size - last)  # every part is optional: a match
        start_back, end_back = key.span(1) if key else (0, 0)
        if end_back > start_back:
            last = at
            keys.append((size - end_back, size - start_back))
    return keys


def gated_value(value: str) -> bool:
    """A value a ``key``/``login`` key hides: a credential-shaped token, not a path or a name."""
    value = value.strip("\"'`\\")
    return _TOKEN_ALPHABET.fullmatch(value) is not None and credential_like(value)


def _quoted(text: str, at: int) -> tuple[int, int] | None:
    """The span of the quoted value at ``at``, quotes included, as ``_VALUE`` matches it
    (up to 4,096 characters, on one line), found by ``str.find``: cheaper than the regex."""
    if at >= len(text) or text[at] not in _QUOTES:
        return None
    close = text.find(text[at], at + 1, at + 4098)
    if close > at + 1 and text.find("\n", at + 1, close) < 0:
        return at, close + 1
    return None


def _spaced_key(text: str, start: int, end: int, name: str) -> tuple[int, str]:
    """A quoted key with blanks in it (``"api key": v``, ``'db password' = v``): its start and
    text, or the key as read if it is not one."""
    quote = text[end : end + 1]
    if not quote or quote not in "\"'":
        return start, name
    opening = text.rfind(quote, max(0, start - 64), start)
    if opening < 0 or _SPACED_KEY.fullmatch(text, opening + 1, end) is None:
        return start, name
    return opening + 1, text[opening + 1 : end]


def _block(text: str, header_end: int, at: int) -> tuple[int, int] | None:
    """The span of a block scalar's lines after its header at ``at``: the lines indented more
    than the key's line, up to 64 lines or 4,096 characters."""
    line_start = text.rfind("\n", 0, at) + 1
    line = text[line_start:at]
    indent = len(line) - len(line.lstrip(" \t"))
    start = end = -1
    position = text.find("\n", header_end) + 1
    limit = min(len(text), position + 4096)
    for _ in range(64):
        if position <= 0 or position >= limit:
            break
        newline = text.find("\n", position, limit)
        line_end = newline if newline >= 0 else limit
        content = text[position:line_end].rstrip("\r")
        stripped = content.lstrip(" \t")
        if stripped:
            if len(content) - len(stripped) <= indent:
                break
            if start < 0:
                start = position + len(content) - len(stripped)
            end = position + len(content)
        position = newline + 1 if newline >= 0 else 0
    return (start, end) if start >= 0 else None


class PairReader:
    """Finds the spans of values under sensitive keys; ``enabled`` switches kinds on/off."""

    def __init__(self, keys: KeyMatcher, enabled: Mapping[str, bool]) -> None:
        self._keys = keys
        self._enabled = dict(enabled)

    def spans(self, text: str) -> list[Span]:
        spans: list[Span] = []
        covered = 0  # the end of the last value read: keys inside it are part of it
        label, gated = self._keys.label, self._keys.gated
        keys = _assigned_keys(text)
        if "--" in text:
            keys = sorted([*keys, *(m.span(1) for m in _FLAG.finditer(text))])
        for key_start, key_end in keys:
            if key_start < covered:
                continue
            name = text[key_start:key_end]
            strong = label(name) is not None
            if (
                not strong
                and key_start
                and text[key_start - 1] == " "
                and text[key_end : key_end + 1] in _KEY_QUOTES
            ):
                key_start, name = _spaced_key(text, key_start, key_end, name)
                strong = label(name) is not None
            if not strong and name in _NAME_KEYS:
                named = self._named_value(text, key_end)
                if named is not None:
                    if self._enabled["key_value"]:
                        spans.append((*named, "key_value"))
                        covered = named[1]
                    continue
            if not strong and not gated(name):
                continue
            separator = _SEPARATOR.match(text, key_end)
            if separator is None:
                continue
            found = self._value(text, separator.end(), strong, name)
            if found is None:
                continue
            start, end = found
            before = text[key_start - 1] if key_start else " "
            kind = (
                "query_param"
                if before in "?&"
                else "dsn_password"
                if before == ";"
                else "key_value"
            )
            if self._enabled[kind]:
                spans.append((start, end, kind))
                covered = end
        if "<" in text and self._enabled["key_value"]:
            spans += self._markup_spans(text)
        return spans

    def _named_value(self, text: str, key_end: int) -> tuple[int, int] | None:
        """The value of a name/value pair whose name is a sensitive key (``"name": "API_TOKEN",
        "value": "v"``, ``- name: DB_PASSWORD`` then ``value: v``), or None."""
        separator = _SEPARATOR.match(text, key_end)
        if separator is None:
            return None
        at = separator.end()
        found = _quoted(text, at)
        if found is None:
            match = _VALUE.match(text, at)
            if match is None:
                return None
            found = match.span()
        named = text[found[0] : found[1]].strip("\"'`")
        if self._keys.label(named) is None:
            return None
        sibling = _SIBLING.search(text, found[1], found[1] + 256)
        if sibling is None:
            return None
        return self._value(text, sibling.end(), True, named)

    def _value(
        self, text: str, at: int, strong: bool, name: str, typed: bool = False
    ) -> tuple[int, int] | None:
        """The span of the value at ``at`` (or on the next line), or None if not one to hide;
        ``typed``: ``at`` is after a string type's ``=`` already (read once, not again)."""
        first = text[at : at + 1]
        if first == "!" and (tag := _TAG.match(text, at)) is not None:
            after = text[tag.end() : tag.end() + 1]
            if after and after not in "#\r\n":  # else "!Pa55 # note" is the value itself
                at = tag.end()  # "password: !!str v": the value after the tag
                first = after
        if first and first in "|>" and (block := _BLOCK.match(text, at)) is not None:
            return _block(text, block.end(), at)
        if first == "&" and not typed and (reference := _REFERENCE_TYPE.match(text, at)):
            return self._value(text, reference.end(), strong, name, True)  # token: &str = "v"
        if first and first in _STRING_PREFIXES:  # r"v", b'v', @"v", $"v", rb"v"
            skip = 2 if text[at + 1 : at + 2] in _STRING_PREFIXES else 1
            if text[at + skip : at + skip + 1] in _KEY_QUOTES:
                at += skip
                first = text[at]
        if first and first in "([" and strong and (items := _TUPLE.match(text, at)) is not None:
            values = [v.strip("\"'") for v in _TUPLE_ITEM.findall(items.group(1))]
            if all(_PLAIN_NAME.fullmatch(v) for v in values):
                return None  # password_fields = ["password", "confirm"]: names
            return items.span(1)  # auth=("ann", "v"): the tuple's items
        if text.startswith(('"""', "'''"), at):
            close = text.find(text[at : at + 3], at + 3, at + 4099)
            return (at + 3, close) if close > at + 3 else None
        found = _quoted(text, at)
        if found is None:
            match = _VALUE.match(text, at)
            if match is None:
                following = _NEXT_LINE.match(text, at)
                if following is None or not credential_like(following.group(2)):
                    return None
                return following.span(2)
            found = match.span()
        start, end = found
        value = text[start:end]
        if value.lower() in _AUTH_SCHEMES or value.startswith(_MARK):
            return None  # "Authorization: Bearer <token>": the auth_header detector takes it
        if value in _STRING_TYPES and not typed and (equals := _TYPED.match(text, end)):
            return self._value(text, equals.end(), strong, name, True)  # token: String = "v"
        if value[0] in "/~" and name in ("PWD", "OLDPWD"):
            return None  # the shell's working directory, not a password
        if not strong and not gated_value(value):
            return None
        if value[0] == "\\":
            start, end = start + 2, end - 2
        elif value[0] in "\"'`":
            start, end = start + 1, end - 1
        if "=" in value and self._keys.label(name) in _COOKIE_LABELS:
            return None  # "Cookie: a=b; sid=c": each cookie is read by cookie_spans
        return start, end

    def _markup_spans(self, text: str) -> list[Span]:
        spans: list[Span] = []
        label, gated = self._keys.label, self._keys.gated
        for match in _XML.finditer(text):
            name, value = match.group(1), match.group(2)
            if label(name) is not None or (gated(name) and gated_value(value)):
                spans.append((*match.span(2), "key_value"))
        if "=" not in text:  # no attribute without one: the scan is skipped
            return spans
        for match in _ATTRIBUTES.finditer(text):
            name = match.group(1)
            group = 2 if match.group(2) is not None else 3
            if label(name) is not None or (gated(name) and gated_value(match.group(group))):
                spans.append((*match.span(group), "key_value"))
        return spans


def cookie_spans(text: str, keys: KeyMatcher) -> list[Span]:
    """Values of the cookies in ``Cookie:``/``Set-Cookie:`` lines that have a sensitive name or
    the shape of a session id."""
    spans: list[Span] = []
    label = keys.label
    for header in _COOKIE.finditer(text):
        at = header.end()
        while (pair := _COOKIE_PAIR.match(text, at)) is not None and pair.end() > at:
            at = pair.end()
            name, value = pair.group(1), pair.group(2)
            if name.lower() in _COOKIE_ATTRIBUTES or value.startswith(_MARK):
                continue
            if label(name) is not None or (len(value) >= 16 and credential_like(value)):
                spans.append((*pair.span(2), "cookie"))
    return spans
