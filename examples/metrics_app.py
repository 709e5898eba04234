"""A plain WSGI app with Prometheus metrics and health endpoints, for several workers.

Run it with an empty directory for prometheus_client's per-worker files::

    export PROMETHEUS_MULTIPROC_DIR=$(mktemp -d)
    gunicorn -w 3 examples.metrics_app:app

``/metrics`` then answers with the totals of every worker, ``/health/ready`` with the checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import seawall

SETTINGS = {
    "metrics": {"enabled": True},
    "health": {"checks": {"config": "examples.metrics_app.config_loaded"}},
    "routes": {"GET /items/{id}": {"timeout": 5}},
}


def config_loaded() -> bool:
    """A readiness check: anything the app needs before it takes traffic."""
    return True


def items(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = json.dumps({"path": environ["PATH_INFO"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


app = seawall.WSGIMiddleware(items, SETTINGS)
