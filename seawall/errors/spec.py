"""How one exception class is answered: the entry type of every problem mapping.

Settings (``errors.map``), code registrations (``@problem``) and the exceptions seawall knows
already all map a class to a :class:`ProblemSpec`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProblemSpec"]


@dataclass(frozen=True, slots=True)
class ProblemSpec:
    """How one exception class is answered. ``detail`` may be text or ``(exc) -> str``.

    ``answered``: the framework raises it after sending its own response, to unwind to the layer
    of its that catches it; seawall lets it through and logs nothing.
    """

    status: int
    title: str | None = None
    type: str = "about:blank"
    detail: str | Callable[[BaseException], str | None] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    classification: str | None = None
    extract: Callable[[BaseException], dict[str, Any]] | None = None
    answered: bool = False
