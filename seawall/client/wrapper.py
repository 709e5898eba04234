"""The decorator's sync wrapper, kept out of the compiled build on purpose.

An exception that leaves a mypyc-compiled function gets a made-up traceback frame built for
it (a code object and a frame, about 2,000 instructions); a rejection is raised often, so the
frame that raises it is this interpreted one, where the traceback entry is the frame itself.
The policy work stays compiled: ``attempts`` is the handle's compiled method.

The refusal leaves this frame's locals before it is raised on: the traceback holds the frame,
so a local still holding the error would make a cycle (frame, refusal, error, traceback) that
only the garbage collector frees, which cost a rejection more than everything else together.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from seawall.client.dependency import Refused

__all__ = ["sync_wrapper"]


def sync_wrapper(
    fn: Callable[..., Any],
    attempts: Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any],
) -> Callable[..., Any]:
    """``fn`` wrapped: each call is ``attempts(fn, args, kwargs)``; a refusal is raised here."""

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        result = attempts(fn, args, kwargs)
        if result.__class__ is Refused:
            try:
                raise result.error
            finally:
                del result  # no cycle through this frame (see the module docstring)
        return result

    return guarded
