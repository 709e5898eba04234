"""Threads and executors that keep the caller's context (correlation id, deadline).

The public path; the implementation lives in :mod:`seawall.context.threads`."""

from seawall.context.threads import (
    ContextThread,
    run_in_executor,
    submit,
)

__all__ = [
    "ContextThread",
    "run_in_executor",
    "submit",
]
