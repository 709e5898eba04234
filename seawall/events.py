"""Seawall's events and the process-wide bus to subscribe to them.

The public path; the implementation lives in :mod:`seawall.observability.events`."""

from seawall.observability.events import *  # noqa: F403
from seawall.observability.events import __all__ as __all__  # noqa: PLC0414 (re-exported)
