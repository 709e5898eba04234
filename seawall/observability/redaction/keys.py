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

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")

DEFAULT_RULES: tuple[str, ...] = (
    # passwords and secrets
    "password", "passwords", "passwd", "pwd", "pass", "passphrase", "secret", "secrets",
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
)  # fmt: skip


WEAK_RULES = frozenset({"token", "session", "pass", "auth", "sig", "pin", "pan", "otp", "sid"})
"""Generic words that mark a secret only as the key's last word: ``auth_token`` is one,
``token_count`` and ``session_length`` are not."""


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

    def _label(self, key: str) -> str | None:
        """The matching rule as a label (``"api_key"``), or ``None`` for a harmless key."""
        parts = tokens(key)
        if not parts or parts in self._safe:
            return None
        for index, part in enumerate(parts):
            for rule in self._by_first.get(part, ()):
                if parts[index : index + len(rule)] != rule:
                    continue
                if len(rule) == 1 and part in WEAK_RULES and index != len(parts) - 1:
                    continue
                return "_".join(rule)
        return None
