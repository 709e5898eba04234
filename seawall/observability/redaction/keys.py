"""Sensitive key names, matched on normalized tokens so spelling variants all match.

``X-Api-Key``, ``x_api_key``, ``apiKey`` and ``API-KEY`` all become ``api key``; a rule
matches a whole token or a run of whole tokens, so ``author``, ``sort_key``, ``max_tokens``,
``secretary`` and ``passenger`` stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["KeyMatcher", "tokens"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")

DEFAULT_RULES: tuple[str, ...] = (
    # passwords and secrets
    "password", "passwords", "passwd", "pwd", "pass", "passphrase", "pass phrase", "secret",
    "secrets", "pw", "pswd", "psw", "pword", "jwt", "remember me",
    "client secret", "clientsecret", "secret key", "secretkey", "private key", "privatekey",
    # tokens
    "token", "access token", "accesstoken", "refresh token", "refreshtoken", "id token",
    "auth token", "authtoken", "csrf", "csrftoken", "xsrf", "xsrftoken", "bearer",
    # keys and authorization
    "api key", "apikey", "access key", "accesskey", "account key", "accountkey",
    "shared access key", "sharedaccesskey", "authorization", "proxy authorization", "auth",
    "credential", "credentials",
    # cookies and sessions
    "cookie", "cookies", "set cookie", "setcookie", "session", "sessionid", "session id",
    "session key", "sessionkey", "sid",
    # connection strings
    "dsn", "database url", "db url", "connection string", "connectionstring", "conn str",
    "jdbc url",
    # signatures and one-time codes, card data
    "signature", "sig", "otp", "totp", "pin", "cvv", "cvc", "card number", "cardnumber",
    "pan", "security code",
    # personal access tokens, SAS tokens, credentials, tool-specific password names
    "pat", "sas", "cred", "creds", "passcode", "auth key", "authkey", "privkey", "sshpass",
    "storepass", "keypass", "conn string",
)  # fmt: skip


WEAK_RULES = frozenset(
    {"token", "session", "pass", "auth", "sig", "pin", "pan", "otp", "sid", "pw", "jwt", "pat",
     "sas", "cred", "creds"}
)  # fmt: skip
"""Generic words that mark a secret only as the key's last word: ``auth_token`` is one,
``token_count`` and ``session_length`` are not."""


GATED_RULES = frozenset({"key", "keys", "login", "salt", "seed", "license"})
"""Last words that name a secret only sometimes (``HEROKU_KEY`` yes, ``sort_key`` no): their
value is hidden only when it has the shape of a credential."""

_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token")
"""Run-together names ending in one of these (``dbpassword``, ``appsecret``, ``xtoken``) are
sensitive; so is any word holding ``sessid``/``sessionid`` (``PHPSESSID``, ``ASPSESSIONIDQQ``)."""


def tokens(key: str) -> tuple[str, ...]:
    """``"X-Api-Key"`` -> ``("x", "api", "key")``: case, camelCase and separators folded."""
    return tuple(t for t in _SPLIT.split(_CAMEL.sub(" ", key).lower()) if t)


class KeyMatcher:
    """Decides whether a key is sensitive; results are cached per key (keys repeat)."""

    def __init__(self, extra: Iterable[str] = (), safe: Iterable[str] = ()) -> None:
        rules = [tokens(rule) for rule in (*DEFAULT_RULES, *extra)]
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for rule in rules:
            if rule:
                self._by_first.setdefault(rule[0], []).append(rule)
        self._safe = {tokens(key) for key in safe}
        self.label = lru_cache(maxsize=4096)(self._label)
        self.gated = lru_cache(maxsize=4096)(self._gated)

    def _gated(self, key: str) -> bool:
        """Whether ``key`` ends in a word that names a secret only sometimes (``API_KEY2``)."""
        parts = _words(key)
        return bool(parts) and parts not in self._safe and parts[-1] in GATED_RULES

    def _label(self, key: str) -> str | None:
        """The matching rule as a label (``"api_key"``), or ``None`` for a harmless key."""
        parts = _words(key)
        if not parts or parts in self._safe:
            return None
        for part in parts:
            if "sessid" in part or "sessionid" in part:
                return "session_id"
        for index, part in enumerate(parts):
            for rule in self._by_first.get(part, ()):
                if parts[index : index + len(rule)] != rule:
                    continue
                if len(rule) == 1 and part in WEAK_RULES and index != len(parts) - 1:
                    continue
                return "_".join(rule)
        last = parts[-1]
        for suffix in _SUFFIXES:
            if last.endswith(suffix) and last != suffix:
                return suffix
        return None


def _words(key: str) -> tuple[str, ...]:
    """The key's words without a trailing number: ``token1`` and ``token_2`` read as ``token``."""
    parts = tokens(key)
    while parts and parts[-1].isdigit():
        parts = parts[:-1]
    return parts
