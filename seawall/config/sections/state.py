"""The ``state`` section: where breaker state is shared (``memory``: nowhere, ``redis``)."""

from __future__ import annotations

import importlib

from seawall.config.parse import Parsed, Table, show
from seawall.config.schema import STATE_BACKENDS, StateSettings

__all__ = ["parse_state"]

KEYS = ("backend", "url", "prefix", "timeout")
URL_SCHEMES = ("redis://", "rediss://", "unix://")


def parse_state(path: str, raw: object, earlier: Parsed) -> StateSettings:
    s = Table(path, raw, KEYS)
    default = StateSettings()
    backend = s.choice("backend", default.backend, STATE_BACKENDS)
    url = s.string("url", default.url)
    if not url.startswith(URL_SCHEMES):
        s.error("url", f"{show(url)} is not a Redis URL ({', '.join(URL_SCHEMES)})")
    if backend == "redis":
        _need_redis_py(s)
    return StateSettings(
        backend=backend,
        url=url,
        prefix=s.string("prefix", default.prefix),
        timeout=s.number("timeout", default.timeout, minimum=0.0, exclusive_min=True, maximum=10.0),
    )


def _need_redis_py(s: Table) -> None:
    """The ``redis`` backend talks through redis-py, an extra: say how to install it."""
    try:
        importlib.import_module("redis")
    except ImportError:
        s.error("backend", "'redis' needs redis-py: pip install seawall[redis]")
