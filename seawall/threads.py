"""Threads and executors that keep the caller's context (correlation id, deadline).

The public path; the implementation lives in :mod:`seawall.context.threads`."""

from seawall.context.threads import *  # noqa: F403
from seawall.context.threads import __all__ as __all__  # noqa: PLC0414 (re-exported)
