"""Timeouts that cancel a block of async code at its deadline.

The public path; the implementation lives in :mod:`seawall.resilience.timeouts`."""

from seawall.resilience.timeouts import (
    DEFAULT_RESOLUTION,
    Timeout,
    TimeoutScheduler,
    get_scheduler,
    running_scheduler,
    timeout,
)

__all__ = [
    "DEFAULT_RESOLUTION",
    "Timeout",
    "TimeoutScheduler",
    "get_scheduler",
    "running_scheduler",
    "timeout",
]
