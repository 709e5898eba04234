"""Run work in other threads with the caller's context (correlation id, deadline) copied.

``threading.Thread`` and ``loop.run_in_executor`` start with an empty context, so log lines
written there lose the request's correlation id. These helpers copy it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

__all__ = ["ContextThread", "run_in_executor", "submit"]

P = ParamSpec("P")
R = TypeVar("R")


class ContextThread(threading.Thread):
    """A ``threading.Thread`` whose target runs in a copy of the creating thread's context.

    >>> ContextThread(target=work).start()   # work() sees get_correlation_id()
    """

    def __init__(
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        context = contextvars.copy_context()
        wrapped = None if target is None else functools.partial(context.run, target)
        super().__init__(group, wrapped, name, args, kwargs, daemon=daemon)


def submit(
    executor: Executor, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
) -> Future[R]:
    """``executor.submit`` that runs ``fn`` in a copy of the current context."""
    context = contextvars.copy_context()
    return executor.submit(context.run, functools.partial(fn, *args, **kwargs))


async def run_in_executor(
    fn: Callable[..., R], /, *args: Any, executor: Executor | None = None
) -> R:
    """``loop.run_in_executor`` that copies the current context (as ``asyncio.to_thread`` does)."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args)
    return await loop.run_in_executor(executor, call)
