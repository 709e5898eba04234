"""``seawall.dependency(name)``: one name, four ways to call through its policy.

>>> payments = seawall.dependency("payments")
>>> @payments                      # def or async def: retries apply
... def charge(order): ...
>>> with payments:                 # a block cannot run twice: no retries
...     gateway.refund(order)
>>> payments.call(charge, order)   # await payments.acall(fetch, order) for coroutines

A handle can be made at import time; it finds its settings at its first call (see
:mod:`seawall.client.dependencies` for which win) and follows a newer default after that.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar, overload

from seawall.client import dependencies as _registry
from seawall.client.dependency import Dependency, Refused
from seawall.client.wrapper import sync_wrapper
from seawall.resilience.engine import Admission
from seawall.resilience.timeouts import Timeout

__all__ = ["DependencyHandle", "dependency"]

# dependencies.ACTIVE in a list slot bound once (a module attribute read per call is dearer).
_current: Final = _registry.CURRENT

P = ParamSpec("P")
R = TypeVar("R")


class _Block:
    """One entered ``with`` block: its admission, its timeout (async), its start."""

    __slots__ = ("admission", "dependency", "started", "timeout", "token")

    def __init__(
        self,
        dependency: Dependency,
        admission: Admission,
        started: float | None,
        timeout: Timeout | None,
    ) -> None:
        self.dependency = dependency
        self.admission = admission
        self.started = started
        self.timeout = timeout
        self.token: Token[_Block | None] | None = None


class DependencyHandle:
    """The decorator, context manager and call helpers of one named dependency.

    ``registry`` pins the handle to one :class:`~seawall.client.dependencies.Dependencies`;
    without it the handle uses the process-wide default.
    """

    __slots__ = ("_blocks", "_bound", "_registry", "name")

    def __init__(self, name: str, registry: _registry.Dependencies | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a dependency name is a non-empty string, got {name!r}")
        self.name = name
        self._registry = registry
        self._bound: tuple[_registry.Dependencies, Dependency] | None = None
        self._blocks: ContextVar[_Block | None] = ContextVar(f"seawall_block_{name}", default=None)

    def __repr__(self) -> str:
        return f"seawall.dependency({self.name!r})"

    def resolve(self) -> Dependency:
        """The dependency this name stands for now; raises if it is not configured."""
        registry = self._registry
        if registry is None:
            registry = _current[0]
        bound = self._bound
        if bound is not None and bound[0] is registry:
            return bound[1]
        if registry is None:
            raise _registry.UnknownDependencyError(
                f"seawall has no settings for dependency {self.name!r} yet: install seawall in"
                " the app (with a 'dependencies' section) or create seawall.Dependencies(settings)"
            )
        found = registry[self.name]
        self._bound = (registry, found)
        return found

    # -- calls ---------------------------------------------------------------------------------

    def call(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """``fn(*args, **kwargs)`` under the policy, with retries."""
        return self.resolve().call(fn, *args, **kwargs)

    async def acall(self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """``await fn(*args, **kwargs)`` under the policy, with retries."""
        return await self.resolve().acall(fn, *args, **kwargs)

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...
    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a function: every call goes through the policy, with retries."""
        if not callable(fn):
            raise TypeError(f"seawall.dependency({self.name!r}) decorates a function, not {fn!r}")
        resolve = self.resolve
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await resolve().arun(fn, args, kwargs)

            return guarded_async

        return sync_wrapper(fn, self.attempts)  # raises a refusal uncompiled: see wrapper.py

    def attempts(
        self, fn: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R | Refused:
        """The decorator's call: :meth:`Dependency.attempts` of the dependency resolved now."""
        return self.resolve().attempts(fn, args, kwargs)

    # -- blocks --------------------------------------------------------------------------------

    def __enter__(self) -> DependencyHandle:
        dep = self.resolve()
        started = dep.started()
        try:
            admission = dep.enter()
        except BaseException as exc:
            dep.ended(dep.failed_outcome(exc), 0, started, type(exc).__name__)
            raise
        self._push(_Block(dep, admission, started, None))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(self._pop(), exc)

    async def __aenter__(self) -> DependencyHandle:
        dep = self.resolve()
        started = dep.started()
        try:
            admission = await dep.aenter()
        except BaseException as exc:
            dep.ended(dep.failed_outcome(exc), 0, started, type(exc).__name__)
            raise
        seconds = dep.seconds()
        timeout = None
        if seconds is not None:
            timeout = Timeout(seconds, dep.name)
            try:
                timeout.start()
            except BaseException:
                admission.finish(None, None)
                raise
        self._push(_Block(dep, admission, started, timeout))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        block = self._pop()
        if block.timeout is not None:
            try:
                block.timeout.stop(exc)  # raises RequestTimeoutError when it cut the block
            except BaseException as timed_out:
                self._finish(block, timed_out)
                raise
        self._finish(block, exc)

    def _push(self, block: _Block) -> None:
        block.token = self._blocks.set(block)

    def _pop(self) -> _Block:
        block = self._blocks.get()
        if block is None or block.token is None:
            raise RuntimeError(f"{self!r} exited without being entered in this context")
        self._blocks.reset(block.token)
        return block

    @staticmethod
    def _finish(block: _Block, exc: BaseException | None) -> None:
        dep = block.dependency
        block.admission.finish(None, exc)
        if exc is None:
            dep.ended("success", 1, block.started, None)
        elif isinstance(exc, Exception):
            dep.ended(dep.failed_outcome(exc), 1, block.started, type(exc).__name__)


def dependency(name: str) -> DependencyHandle:
    """The handle of dependency ``name`` (see the module docstring); cheap, make it anywhere."""
    return DependencyHandle(name)
