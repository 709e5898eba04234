"""Health endpoints and draining: ``seawall.health.drain()`` makes readiness fail.

The public path; the implementation lives in :mod:`seawall.observability.health`."""

from seawall.observability.health import *  # noqa: F403
from seawall.observability.health import __all__ as __all__  # noqa: PLC0414 (re-exported)
