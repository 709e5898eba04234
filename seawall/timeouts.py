"""Timeouts that cancel a block of async code at its deadline.

The public path; the implementation lives in :mod:`seawall.resilience.timeouts`."""

from seawall.resilience.timeouts import *  # noqa: F403
from seawall.resilience.timeouts import __all__ as __all__  # noqa: PLC0414 (re-exported)
