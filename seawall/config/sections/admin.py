"""The ``admin`` section: where seawall's operational API lives and the bearer token it wants.

The token is a secret, so it usually comes from the environment: unset here, it is read from
``SEAWALL_ADMIN__TOKEN``.
"""

from __future__ import annotations

import os
import re

from seawall.config.parse import Parsed, Table, show
from seawall.config.schema import AdminSettings

__all__ = ["TOKEN_VARIABLE", "endpoint_path", "parse_admin"]

KEYS = ("path", "token")
TOKEN_VARIABLE = "SEAWALL_ADMIN__TOKEN"
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")


def parse_admin(path: str, raw: object, earlier: Parsed) -> AdminSettings:
    s = Table(path, raw, KEYS)
    default = AdminSettings()
    token = s.optional_string("token") if s.has("token") else os.environ.get(TOKEN_VARIABLE)
    return AdminSettings(path=endpoint_path(s, "path", default.path), token=token or None)


def endpoint_path(s: Table, key: str, default: str) -> str:
    """An operational endpoint's path: absolute, no query, no trailing ``/``."""
    value = s.string(key, default)
    if not _PATH.fullmatch(value) or (value != "/" and value.endswith("/")) or "//" in value:
        s.error(key, f"{show(value)} is not a path like '/health' (no query, no trailing '/')")
        return default
    return value
