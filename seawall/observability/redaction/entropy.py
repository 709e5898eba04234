"""Random-looking tokens in free text: credentials without a prefix, told apart by shape alone.

Many providers issue keys with no prefix (``[a-z0-9]{32}``, ``[A-Za-z0-9]{40}``, base64), so
bare in a sentence only their randomness gives them away. A candidate is a standalone run of
token characters (``A-Za-z0-9_-+/``, ``=`` padding) of at least 16 characters; it counts as
random when it mixes character classes, when its characters are *surprising* (a new letter,
digit or case run, or a pair of letters that words rarely hold, about every other character),
when its Shannon entropy is that of random text of its length, and when it is no id: hex
(hashes, trace, span and commit ids, UUIDs, ObjectIds) stays, as do ULIDs, Stripe-style object
ids, integrity digests, paths and base64 of plain text. Hex and UUID secrets cannot be told
from ids bare, so they are left to their prefix or key (``key_value``).

One regex scan finds the candidates (a text without one costs just that), then each is judged
by C-level tests first and one pass over at most :data:`WINDOW` characters: linear in the text.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import string
from bisect import bisect_left
from operator import add

__all__ = ["MIN_LENGTH", "NAME", "WINDOW", "random_looking", "random_spans"]

NAME = "high_entropy"
"""Its name in ``redaction.detectors``; its placeholder is ``[REDACTED:high_entropy]``."""

MIN_LENGTH = 16
"""Shorter runs are too often names, codes and short ids; the shortest common keys are 16."""
WINDOW = 256
"""A run is judged on at most its first ``WINDOW`` characters: a random head makes a random run."""

# A run starts where the character before its first one is no token character: checked after
# that first character, so the engine skips in C to the next one that can start a run.
_RUN = re.compile(
    rf"[A-Za-z0-9_\-+/](?<![A-Za-z0-9_\-+/](?s:.))[A-Za-z0-9_\-+/]{{{MIN_LENGTH - 1},}}+={{0,3}}"
)
# What a run is read as: words (capitalized, lower or upper case runs) and digit runs; and
# same-case hex segments of at least 8 characters (ids inside a name), which count nothing.
_PIECE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_HEX_SEGMENT = re.compile(r"(?<![A-Za-z0-9])(?:[0-9a-f]{8,}|[0-9A-F]{8,})(?![A-Za-z0-9])")
_DIGIT_RUN = re.compile(r"[0-9]+")
_NO_LETTERS = str.maketrans("", "", string.ascii_letters)
_PATH_WORD = re.compile(r"[a-z]+[0-9]{0,3}(?:[_\-][a-z]+[0-9]{0,3})*|[0-9]{1,4}")
# Three or more short parts joined by "_", "-", "+" or "/": a name of abbreviations
# (``svn_fs_begin_txn2``, ``PKCS5_PBKDF2_HMAC_SHA1``, ``GHSA-3r5h-5jcg-gmgg``, a Debian version);
# random keys hold long stretches.
_SHORT_PARTS = r"[A-Za-z0-9]{1,8}(?:[_\-+/][A-Za-z0-9]{1,8}){2,}"
_PATH_SEGMENT = re.compile(r"[^/]{16,}")
# Ids that look random but are not secrets: ULIDs (Crockford base32, a timestamp first), object
# ids of a lowercase type and an id of normal length (``cus_NffrFeUfNV2Hib``, ``in_1MtHbE…``),
# pod names and subresource-integrity digests (``sha384-…``).
_ULID = r"[0-7][0-9A-HJKMNP-TV-Z]{25}"
_OBJECT_ID = r"[a-z]{2,10}_(?:[a-z]{2,8}_)?[A-Za-z0-9]{8,24}"
# Kubernetes pod names: a workload name, then the ReplicaSet and pod hashes (no vowels).
_POD = (
    r"[a-z]+(?:-[a-z]+)*(?:-[bcdfghjklmnpqrstvwxz2456789]{6,10})?-[bcdfghjklmnpqrstvwxz2456789]{5}"
)
_SRI = r"(?:sha(?:1|256|384|512)|md5)-[A-Za-z0-9+/]{16,}"
_ID = re.compile("|".join((_ULID, _OBJECT_ID, _POD, _SRI, _SHORT_PARTS)))
# A digest named just before the run (``sha256:``, ``Digest: SHA-256=``, ``md5=``).
_DIGEST_BEFORE = re.compile(r"(?:sha-?(?:1|224|256|384|512)|md5|digest)[:=]\Z")
_CREDENTIAL_PAIR = re.compile(r"[^\s:]{1,128}:\S{1,256}")
_HEX = "0123456789abcdef-_"
_TOKEN_BYTES = bytes(
    97 if chr(code).isascii() and (chr(code).isalnum() or chr(code) in "_-+/") else 32
    for code in range(256)
)
"""Token characters to ``a``, every other byte (non-ASCII too) to a space."""
_RUN_OF_16 = b"a" * MIN_LENGTH

_COMMON_PAIRS = frozenset(
    """ab ac ad af ag ai ak al am an ap ar as at au av aw ax ay az ba be bi bj bl bo br bs bu by
    ca cc ce ch ci ck cl co cr cs ct cu cy da db dd de df dg di dl do dp dr ds du dy ea eb ec ed
    ee ef eg ei el em en eo ep eq er es et ev ew ex ey fa fe ff fi fl fo fr fs ft fu ga ge gg gh
    gi gl gm gn go gr gs gt gu ha he hi hm ho hr hs ht ia ib ic id ie if ig il im in io ip ir is
    it iv ix iz je jo js ke ki ks kw la ld le lf li ll lo ls lt lu ly ma mb me mi ml mm mo mp ms
    mu na nc nd ne nf ng ni nk nl nn no np ns nt nu nv ny oa ob oc od of og oi ok ol om on oo op
    or os ot ou ov ow pa pc pd pe ph pi pl po pp pr ps pt pu py qu ra rc rd re rf rg ri rk rl rm
    rn ro rp rr rs rt ru rv ry sa sc se sg sh si sk sl sm sn so sp ss st su sw sy ta tc te tf th
    ti tl tm to tp tr ts tt tu tw ty ua ub uc ud ue uf ug ui ul um un up ur us ut va ve vi vo vp
    wa we wh wi wn wo wr ws xc xe xi xp xt yg yl yn yp ys yt yw ze zo""".split()  # noqa: SIM905
)
"""The 300 commonest letter pairs in the words of Python's standard library (identifiers split
at case changes and underscores, comments and docstrings included): 98% of the pairs there,
while a random pair of letters is one of them 44% of the time."""

_ALNUM = string.ascii_lowercase + string.digits
_NEIGHBOURS = frozenset(a + b for a in _ALNUM for b in _ALNUM if abs(ord(a) - ord(b)) <= 1)
_N_LOG_N = tuple(n * math.log2(n) if n else 0.0 for n in range(WINDOW + 1))

SURPRISE = 0.5
"""Surprising characters per character above which a run is random: random keys of every
common alphabet score 0.6 to 0.9, identifiers, paths and names 0.1 to 0.4."""
SEQUENCE = 0.3
"""Share of neighbours one apart (``abcd``, ``aAbB``, ``0123``) above which a run is a sequence."""


def _surprise(body: str) -> float:
    """Per character: each word, case or digit run counts one, and so does each pair of
    neighbouring letters that words rarely hold; hex segments (ids inside a name) count
    nothing. About 0.7 for random text, 0.2 for an identifier made of words."""
    count = _surprises(body)
    if len(body) >= 17:  # room for a hex segment of 8 and something else
        for segment in _HEX_SEGMENT.findall(body):
            count -= _surprises(segment)
    return count / len(body)


def _surprises(text: str) -> int:
    """The runs of ``text`` plus the rare letter pairs inside them, each counted by a C-level
    pass (a regex, or ``map`` over builtins) rather than a Python loop per character. The runs
    are joined by spaces, so no pair across a run boundary (``tU`` of ``getUser``) counts."""
    pieces = _PIECE.findall(text)
    joined = " ".join(pieces).lower()
    common = sum(map(_COMMON_PAIRS.__contains__, map(add, joined, joined[1:])))
    letters = len(text) - len(text.translate(_NO_LETTERS))
    words = len(pieces) - len(_DIGIT_RUN.findall(text))
    return len(pieces) + letters - words - common


def _hex(piece: str) -> bool:
    return not piece.strip(_HEX) or not piece.strip("0123456789ABCDEF-_")


def _entropy(body: str) -> float:
    """Shannon entropy of the characters of ``body`` (at most :data:`WINDOW` long), in bits
    per character: each count by ``str.count`` and ``n log n`` from a table, all in C."""
    size = len(body)
    return math.log2(size) - sum(map(_N_LOG_N.__getitem__, map(body.count, set(body)))) / size


def _min_entropy(size: int) -> float:
    """Random text over a 32-character alphabet stays above this for 99.5% of draws (4 bits
    from 48 characters on): repeated placeholders (``XXXX…1234``, ``aaaa1111bbbb2222``) fall
    below it."""
    return min(0.72 * math.log2(size), 4.0)


def _sequence(body: str) -> bool:
    """Mostly neighbours in the alphabet: a character-class listing, not a key."""
    folded = body.lower()
    near = sum(map(_NEIGHBOURS.__contains__, map(add, folded, folded[1:])))
    return near > SEQUENCE * (len(folded) - 1)


def _plain_text_base64(body: str) -> bool:
    """Base64 of printable text (a pagination cursor, ``This is the way``) rather than of
    random bytes; text of the shape ``user:password`` is a credential all the same."""
    urlsafe = "-" in body or "_" in body
    if len(body) % 4 == 1 or (urlsafe and ("+" in body or "/" in body)):
        return False
    padded = body + "=" * (-len(body) % 4)
    try:
        if urlsafe:
            raw = base64.urlsafe_b64decode(padded)
        else:
            raw = base64.b64decode(padded, validate=True)
    except (ValueError, binascii.Error):
        return False
    if not raw.isascii():
        return False
    text = raw.decode("ascii")
    if not text.replace("\n", " ").replace("\r", " ").replace("\t", " ").isprintable():
        return False
    if _CREDENTIAL_PAIR.fullmatch(text) is not None:
        return False
    return not any(random_looking(match.group()) for match in _RUN.finditer(text))


def _classes(body: str) -> int:
    """How many of digits, lower case and upper case letters ``body`` (ASCII) holds."""
    digit = len(body.encode().translate(None, b"0123456789")) < len(body)
    return digit + (body.upper() != body) + (body.lower() != body)


def random_looking(token: str) -> bool:
    """Whether ``token``, one run of token characters or one segment of a path, is a random
    credential, judged on its first :data:`WINDOW` characters. The cheap tests come first:
    hex ids (the commonest runs in logs) and one-class runs cost a C call or two.

    >>> random_looking("Xk9vQ2mTz8LrP4wYbN6sHd3JcF7gA1eR"), random_looking("getUserSettingsV2")
    (True, False)
    """
    body = token.rstrip("=")[:WINDOW]
    size = len(body)
    if size < MIN_LENGTH or _hex(body) or _classes(body) < 2 or _surprise(body) < SURPRISE:
        return False
    if _ID.fullmatch(body) is not None:
        return False
    if _entropy(body) < _min_entropy(size) or _sequence(body):
        return False
    return not _plain_text_base64(body)


def _path_like(token: str) -> bool:
    """A run with ``/`` that reads as a path or URL path (at least two, and at least half, of
    its segments are words or small numbers: ``com/org/repo/pull/407``) rather than as base64
    that happens to hold ``/``. Read on its first :data:`WINDOW` characters."""
    parts = [part for part in token[:WINDOW].split("/") if part]
    words = sum(_PATH_WORD.fullmatch(part) is not None for part in parts)
    return words >= 2 and 2 * words >= len(parts)


def random_spans(text: str, taken: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The spans of random-looking tokens in ``text`` that overlap none of ``taken`` (a token
    another detector found keeps that detector's placeholder, and is not judged again). A path
    is judged segment by segment, so only the token inside ``/reset/<token>`` goes."""
    # Most texts hold no run of 16 token characters: one byte translation and one substring
    # search in C say so, several times cheaper than the regex scan.
    marks = text.encode("utf-8", "surrogatepass").translate(_TOKEN_BYTES)
    if _RUN_OF_16 not in marks:
        return []
    # Spans already found, sorted, with the running maximum of their ends: whether a run
    # overlaps one is a binary search.
    ordered = sorted(taken)
    starts = [start for start, _, _ in ordered]
    reach: list[int] = []
    furthest = -1
    for _, end, _ in ordered:
        furthest = max(furthest, end)
        reach.append(furthest)
    found: list[tuple[int, int, str]] = []
    judged: dict[str, bool] = {}
    for start, end in _runs(text, marks):
        if _overlaps(starts, reach, start, end):
            continue
        token = text[start:end]
        if "/" in token and _path_like(token):
            for segment in _PATH_SEGMENT.finditer(token):
                if random_looking(segment.group()):
                    found.append((start + segment.start(), start + segment.end(), NAME))
            continue
        # A run that repeats in a text (a name in a stack trace) is judged once.
        verdict = judged.get(token)
        if verdict is None:
            verdict = judged[token] = random_looking(token)
        if verdict and _DIGEST_BEFORE.search(text[max(0, start - 8) : start].lower()) is None:
            found.append((start, end, NAME))
    return found


def _runs(text: str, marks: bytes) -> list[tuple[int, int]]:
    """Where the candidate runs of ``text`` are. In ASCII text, ``marks`` (its token bytes as
    ``a``) has the same offsets, and ``bytes.find`` walks from run to run in C; other text is
    scanned by the regex."""
    if not text.isascii():
        return [match.span() for match in _RUN.finditer(text)]
    runs: list[tuple[int, int]] = []
    size = len(text)
    at = marks.find(_RUN_OF_16)
    while at >= 0:
        end = marks.find(b" ", at)
        if end < 0:
            end = size
        stop = end
        while stop < size and stop - end < 3 and text[stop] == "=":
            stop += 1  # base64 padding
        runs.append((at, stop))
        at = marks.find(_RUN_OF_16, end)
    return runs


def _overlaps(starts: list[int], reach: list[int], start: int, end: int) -> bool:
    """Whether ``start:end`` overlaps a span of those whose sorted starts and running maximum
    of ends are given."""
    before = bisect_left(starts, end)  # the spans that start before this one ends
    return before > 0 and reach[before - 1] > start
