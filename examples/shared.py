"""What every example app has in common: its seawall settings and the call to the upstream.

Each app adds its own route policies (the route keys differ: ``GET /flaky`` for ASGI, WSGI,
FastAPI and Flask, ``GET flaky`` for Django) to :func:`settings`. ``/stock`` calls the small
upstream service of ``examples/upstream.py`` at ``EXAMPLE_UPSTREAM`` through seawall's httpx
transport, so the ``inventory`` dependency's retries, breaker and metrics apply and the
request's correlation id travels with it.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from seawall.integrations.httpx import Transport

UPSTREAM = os.environ.get("EXAMPLE_UPSTREAM", "http://127.0.0.1:8081")
FLAKY_BREAKER = {
    "failure_rate": 0.5, "minimum_calls": 4, "window": 30, "open_for": 2, "half_open_calls": 1,
}  # fmt: skip

# The transport finds the newest seawall pipeline's dependencies at each request.
client = httpx.Client(transport=Transport(), base_url=UPSTREAM, timeout=2.0)


def settings(prefix: str = "/", slow: dict[str, Any] | None = None) -> dict[str, Any]:
    """The example apps' settings; ``prefix`` starts route keys (``""`` for Django's)."""
    result: dict[str, Any] = {
        "routes": {
            # Critical: readiness fails (503) while this route's breaker is open.
            f"GET {prefix}flaky": {"breaker": FLAKY_BREAKER, "critical": True},
            f"GET {prefix}slow": slow or {"timeout": 0.5},
        },
        "metrics": {"enabled": True},
        "health": {"checks": {"upstream": "examples.shared.upstream_reachable"}, "cache_for": 1},
        "dependencies": {
            "inventory": {
                "hosts": [urlsplit(UPSTREAM).hostname],
                "timeout": 1.0,
                "retry": {"attempts": 3, "backoff": 0.05, "max_backoff": 0.1},
                "breaker": {"failure_rate": 0.5, "minimum_calls": 4, "open_for": 3},
            },
        },
    }
    if os.environ.get("EXAMPLE_ALERT_SINKS"):  # e.g. '[{"type": "alertmanager", "url": "..."}]'
        result["alerts"] = {"sinks": json.loads(os.environ["EXAMPLE_ALERT_SINKS"])}
    return result


def stock() -> dict[str, Any]:
    """The upstream's stock; an upstream that still fails after the retries is a
    ``ConnectionError`` (mapped to a 503 problem), an open breaker raises seawall's own."""
    response = client.get("/stock")
    if response.status_code >= 500:
        raise ConnectionError(f"inventory answered {response.status_code}")
    answer: dict[str, Any] = response.json()
    return answer


def upstream_reachable() -> bool:
    """A readiness check: the upstream accepts connections."""
    url = urlsplit(UPSTREAM)
    with socket.create_connection((url.hostname, url.port or 80), timeout=0.5):
        return True
