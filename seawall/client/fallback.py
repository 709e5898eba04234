"""What a dependency's ``fallback`` is called with.

Apart from the compiled call path: mypyc cannot build a dataclass whose fields name builtins
under postponed annotations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FallbackCall"]


@dataclass(frozen=True, slots=True)
class FallbackCall:
    """What a dependency's ``fallback`` is called with: the call that was refused or failed.

    ``reason`` is ``circuit_open``, ``bulkhead_full``, ``deadline_exceeded``, ``timeout`` or
    ``failure``; ``error`` what the caller would have got.
    """

    dependency: str
    reason: str
    error: BaseException
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    attempts: int
