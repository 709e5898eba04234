"""Text of any value, even one whose ``__str__`` or ``__repr__`` raises.

The error path must never fail on a value it only wants to describe, so problems, error
events and the redactor all use these, and all write the same placeholder.
"""

from __future__ import annotations

__all__ = ["placeholder", "safe_repr", "safe_str"]


def placeholder(value: object) -> str:
    """What stands in for ``value`` when it cannot be turned into text."""
    return f"[unrenderable {type(value).__name__}]"


def safe_str(value: object) -> str:
    """``str(value)``, or the placeholder if that raises."""
    try:
        return str(value)
    except Exception:
        return placeholder(value)


def safe_repr(value: object) -> str:
    """``repr(value)``, or the placeholder if that raises."""
    try:
        return repr(value)
    except Exception:
        return placeholder(value)
