"""The request's deadline: how long the current request has left.

The public path; the implementation lives in :mod:`seawall.context.deadline`."""

from seawall.context.deadline import (
    Deadline,
    DeadlineScope,
    check_deadline,
    current_deadline,
    deadline_scope,
    expired,
    pop_deadline,
    push_deadline,
    remaining,
)

__all__ = [
    "Deadline",
    "DeadlineScope",
    "check_deadline",
    "current_deadline",
    "deadline_scope",
    "expired",
    "pop_deadline",
    "push_deadline",
    "remaining",
]
