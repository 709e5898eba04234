"""Value detectors: credential formats and personal data found anywhere in free text.

Every pattern has bounded quantifiers only (no nested unbounded repetition), so matching is
linear in the text: no ReDoS. Each detector names literal ``anchors``; a detector runs only
when one of them occurs in the text, which keeps the common case (nothing secret) cheap.
Checksums (Luhn, IBAN mod-97) and structure (JWT header) cut false positives.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import string
from collections.abc import Callable

from seawall.observability.redaction.anchors import DIGITS
from seawall.observability.redaction.formats import FORMATS
from seawall.observability.redaction.pattern import Detector
from seawall.observability.redaction.shapes import credential_like

__all__ = [
    "AUTH_SCHEMES",
    "DETECTORS",
    "DIGITS",
    "NAMES",
    "SCANNERS",
    "Detector",
    "iban_valid",
    "luhn_valid",
]


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


_IBAN_REGISTRY = (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 "
    "DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 "
    "HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 "
    "MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 "
    "RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 "
    "VA22 VG24 XK20 YE30"
)
"""Country code and IBAN length of each country in the ISO 13616 registry: a checksum alone
passes one random token in 97, and an upper-case hex id (a request id, a hash) is such a token."""
_IBAN_LENGTHS = {entry[:2]: int(entry[2:]) for entry in _IBAN_REGISTRY.split()}


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def _jwt_valid(token: str) -> bool:
    header = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        return "alg" in json.loads(decoded)
    except (ValueError, binascii.Error, TypeError):
        return False


def _phone_valid(text: str) -> bool:
    return 8 <= sum(c.isdigit() for c in text) <= 15


def _ipv4_valid(text: str) -> bool:
    parts = text.split(".")
    return all(int(p) <= 255 for p in parts) and text not in ("0.0.0.0", "127.0.0.1")


def _aws_secret_valid(text: str) -> bool:
    # 40 characters of base64 with both cases and a digit: not a 40-hex git SHA.
    return any(c.isupper() for c in text) and any(c.islower() for c in text)


AUTH_SCHEMES = (
    r"bearer|basic|token|digest|apikey|api-key|negotiate|ntlm|ssws|aws4-hmac-sha256|hoba|"
    r"mutual|vapid|scram-sha-1|scram-sha-256|dpop|gnap|privatetoken"
)
"""HTTP authentication schemes (IANA registry and common vendor ones) named in prose."""
_PARAM = r"[A-Za-z0-9\-]{1,31}=(?:\"[^\"\n]{0,1024}\"|[^\s,\"]{0,1024})"
AUTH_VALUE = (
    _PARAM + r"(?:[ \t]{0,4},[ \t]{0,4}" + _PARAM + r"){0,32}" + r"|[A-Za-z0-9._~+/=\-:]{6,4096}"
)
"""Credentials after a scheme: a parameter list (Digest, AWS4-HMAC-SHA256) or a token68."""


_E = r"(?![A-Za-z0-9_])"  # a token boundary after


def _starts_token(width: int) -> str:
    """Lookbehind: the ``width`` characters just matched begin a token. Checked after a literal
    start rather than before it, so the regex engine can jump straight to that literal."""
    return rf"(?<![A-Za-z0-9_](?s:.){{{width}}})"


def _d(
    name: str,
    pattern: str,
    anchors: tuple[str, ...],
    group: int = 0,
    check: Callable[[str], bool] | None = None,
    flags: int = 0,
    at_anchor: bool = True,
    before: str = "",
) -> Detector:
    return Detector(
        name, re.compile(pattern, flags), anchors, group, check, bool(flags & re.IGNORECASE),
        at_anchor, frozenset(before),
    )  # fmt: skip


_LOCAL_PART = string.ascii_letters + string.digits + "._%+-"
# A phone number starts with "+" and a digit 1-9: base64 tokens hold "+" without one.
_PLUS_DIGIT = tuple(f"+{d}" for d in "123456789")


DETECTORS: tuple[Detector, ...] = (
    # Any armoured private key (PEM, OpenSSH, PGP, SSH2): the body runs to the next "-----",
    # so a run of BEGIN lines without END costs one pass, not one pass per line.
    _d("pem", r"-{4,5} ?BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,12} ?-{4,5}[^-]*+(?:-(?!----)[^-]*+)*+(?:-{4,5} ?END [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,12} ?-{4,5})?", ("PRIVATE KEY",), at_anchor=False),
    _d("pem", r"Private-Lines: ?\d{1,4}[\s\S]{0,8192}?(?:Private-MAC: ?[0-9a-f]{40,64}|\Z)", ("Private-Lines:",), at_anchor=False),
    _d("aws", r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)" + _starts_token(4) + r"[A-Z0-9]{16}" + _E, ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA")),
    # A secret access key right after its key id, whatever separates them.
    _d("aws", r"(?:AKIA|ASIA)" + _starts_token(4) + r"[A-Z0-9]{16}[^A-Za-z0-9+=]{1,24}?(?<![A-Za-z0-9/+=])([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])", ("AKIA", "ASIA"), 1, _aws_secret_valid),
    _d("aws", r"(?i:aws)[A-Za-z0-9_ .\-\"':=]{0,40}?(?<![A-Za-z0-9/+=])([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])", ("aws", "AWS", "Aws"), 1, _aws_secret_valid),
    _d("google", r"AIza" + _starts_token(4) + r"[0-9A-Za-z_\-]{35}" + _E.replace("_", "_\\-"), ("AIza",)),
    _d("azure", r"(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature)=([^;\s\"']{8,512})", ("accountkey", "sharedaccess"), 1, flags=re.IGNORECASE),
    _d("azure", r"[?&]sig=([A-Za-z0-9%+/=]{16,256})", ("sig=",), 1, at_anchor=False),
    _d("github", r"(?:gh[pousr]_" + _starts_token(4) + r"[A-Za-z0-9]{36,255}|github_pat_" + _starts_token(11) + r"[A-Za-z0-9_]{22,255})" + _E, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _d("gitlab", r"gl" + _starts_token(2) + r"(?:pat|dt|rt|cbt|ptt)-[A-Za-z0-9_\-]{20,64}", ("glpat-", "gldt-", "glrt-", "glcbt-", "glptt-")),
    _d("slack", r"xox" + _starts_token(3) + r"[abposre]-[A-Za-z0-9-]{10,255}", ("xox",)),
    _d("slack", r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_\-]{8,255}", ("hooks.slack.com",), at_anchor=False),
    _d("stripe", r"(?:sk|rk|pk)" + _starts_token(2) + r"_(?:live|test)_[A-Za-z0-9]{16,255}" + _E, ("_live_", "_test_"), at_anchor=False),
    _d("stripe", r"whsec_" + _starts_token(6) + r"[A-Za-z0-9]{24,255}" + _E, ("whsec_",)),
    _d("sendgrid", r"SG\." + _starts_token(3) + r"[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}", ("SG.",)),
    _d("twilio", r"SK" + _starts_token(2) + r"[0-9a-fA-F]{32}" + _E, ("SK",)),
    _d("npm", r"npm_" + _starts_token(4) + r"[A-Za-z0-9]{36}" + _E, ("npm_",)),
    _d("pypi", r"pypi-AgE" + _starts_token(8) + r"[A-Za-z0-9_\-]{40,512}", ("pypi-",)),
    _d("anthropic", r"sk-ant-" + _starts_token(7) + r"[a-z0-9]{2,12}-[A-Za-z0-9_\-]{20,255}", ("sk-ant-",)),
    _d("openai", r"sk-" + _starts_token(3) + r"(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,255}", ("sk-",)),
    _d("huggingface", r"hf_" + _starts_token(3) + r"[A-Za-z]{30,64}" + _E, ("hf_",)),
    _d("jwt", r"eyJ" + _starts_token(3) + r"[A-Za-z0-9_\-]{4,2048}\.eyJ[A-Za-z0-9_\-]{2,8192}\.[A-Za-z0-9_\-]{0,2048}", ("eyJ",), 0, _jwt_valid),
    # After an Authorization header, any scheme's credentials; in prose, only the credentials of a
    # known scheme that look like credentials ("Token validation failed" stays).
    _d("auth_header", r"(?i)(?:authorization|authenticate)[\"']?[ \t]{0,4}[:=][ \t]{0,4}[\"']?[A-Za-z][A-Za-z0-9_\-]{0,30}[ \t]+(" + AUTH_VALUE + ")", ("authorization", "authenticate"), 1, flags=re.IGNORECASE),
    _d("auth_header", r"(?i)\b(?:" + AUTH_SCHEMES + r")[ \t]+(" + AUTH_VALUE + ")", ("bearer", "basic", "token", "digest", "apikey", "negotiate", "ntlm", "ssws", "aws4-hmac", "hoba", "mutual", "vapid", "scram-sha", "dpop", "gnap", "privatetoken"), 1, credential_like, flags=re.IGNORECASE),
    # Tried only where a local part ends at an '@': the match starts where the run of local-part
    # characters before it does. The local part is possessive: '@' is not one of its characters.
    _d("email", r"(?:(?<![A-Za-z0-9._%+\-/:])|(?<=mailto:)|(?<=MAILTO:)|(?<=sip:)|(?<=sips:)|(?<=xmpp:))[A-Za-z0-9._%+\-]{1,64}+@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}" + _E, ("@",), before=_LOCAL_PART),
    # Digit patterns check what precedes their first digit after matching it, for the same reason.
    # A letter on either side makes the digits part of an identifier (a hex id, a SKU): kept.
    _d("card", r"\d(?<![A-Za-z\d.\-]\d)(?:[ \-]?\d){12,18}(?![A-Za-z\d\-])", (DIGITS,), 0, luhn_valid, at_anchor=False),
    _d("iban", r"[A-Z](?<!\w[A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){11,30}\b", (DIGITS,), 0, iban_valid, at_anchor=False),
    _d("ssn", r"\d(?<![A-Za-z\d\-]\d)\d\d(?<!000|666|9\d\d)-(?!00)\d{2}-(?!0000)\d{4}(?![A-Za-z\d\-])", (DIGITS,), at_anchor=False),
    _d("phone", r"\+(?<![\w+]\+)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){2,6}(?![\d\-])", _PLUS_DIGIT, 0, _phone_valid, at_anchor=False),
    _d("ip", r"\d(?<![\d.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\d.])", (".",), 0, _ipv4_valid, at_anchor=False),
    *FORMATS,
)  # fmt: skip
"""Built-in detectors, most specific first (``sk-ant-`` before ``sk-``)."""

SCANNERS: tuple[str, ...] = (
    "url_userinfo",
    "key_value",
    "dsn_password",
    "query_param",
    "cookie",
    "high_entropy",
)
"""Detectors the redactor runs as scanners rather than patterns: URL userinfo (split on the
last ``@``), sensitive ``key=value`` pairs, named for what precedes them (``?``/``&``, ``;``),
the cookies of ``Cookie:``/``Set-Cookie:`` lines, and random-looking tokens (``entropy.py``)."""

NAMES: tuple[str, ...] = (*dict.fromkeys(d.name for d in DETECTORS), *SCANNERS)
"""Every detector name, the keys ``redaction.detectors`` switches on or off."""
