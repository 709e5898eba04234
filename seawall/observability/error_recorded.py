"""The event error analytics publishes for each failure it counts (the alert rules take it).

Apart from :mod:`seawall.observability.analytics`, which is compiled: an event class derives
from :class:`~seawall.observability.events.Event`, which is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from seawall.observability.events import Event

if TYPE_CHECKING:
    from seawall.observability.analytics import ErrorGroup

__all__ = ["ErrorRecorded"]


@dataclass(frozen=True, slots=True)
class ErrorRecorded(Event):
    """Analytics counted a failure in ``group`` (``new`` on its first occurrence here)."""

    group: ErrorGroup
    new: bool
