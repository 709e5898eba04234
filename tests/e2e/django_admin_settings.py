"""The example Django project with the admin API on (token from ``ADMIN_TOKEN``), without
the demo's upstream dependency and its readiness check (no upstream server runs here), and
with no critical route."""

from __future__ import annotations

import os

from examples.django_project.settings import *  # noqa: F403
from examples.django_project.settings import SEAWALL as EXAMPLE

SEAWALL = {
    **{key: value for key, value in EXAMPLE.items() if key != "dependencies"},
    "admin": {"token": os.environ["ADMIN_TOKEN"]},
    "health": {**EXAMPLE.get("health", {}), "checks": {}},
    # Not critical here: an open breaker makes readiness warn, as the test expects.
    "routes": {
        key: {name: value for name, value in policy.items() if name != "critical"}
        for key, policy in EXAMPLE["routes"].items()
    },
}
