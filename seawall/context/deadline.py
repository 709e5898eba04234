"""The current request's deadline, in a contextvar, for code that can honour it.

What a deadline guarantees depends on the timeout mode (see also
:mod:`seawall.resilience.timeouts` and :mod:`seawall.resilience.isolation`):

* **ASGI**: the route timeout cancels the handler for real (at its next ``await``); the deadline
  is also set, so outgoing calls can use :func:`remaining` as their own timeout.
* **WSGI, ``timeout_mode="deadline"``** (the default): a thread cannot be interrupted, so this is
  cooperative. The handler runs to completion however long it takes; :func:`remaining` tells the
  app (and outgoing calls) how much time is left, and the middleware answers 503 at once,
  without starting the handler, when :func:`check_deadline` finds the deadline already passed
  (for instance after a long bulkhead queue wait).
* **WSGI, ``timeout_mode="thread"``**: see :mod:`seawall.resilience.isolation` (504 at the
  deadline).

Scopes nest; an inner scope can only shorten the deadline, never extend it:

>>> with deadline_scope(2.0):
...     with deadline_scope(5.0):
...         remaining()  # still about 2.0
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from types import TracebackType
from typing import Final

from seawall.clock import Clock, monotonic
from seawall.errors.exceptions import DeadlineExceededError

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


class Deadline:
    """A point in time ``at`` on ``clock``. Treat it as immutable: scopes replace it, never edit.

    A plain class rather than a named tuple: every timed request makes one, and this is cheaper.
    """

    __slots__ = ("at", "clock")

    def __init__(self, at: float, clock: Clock = monotonic) -> None:
        self.at = at
        self.clock = clock

    @staticmethod
    def after(seconds: float, clock: Clock | None = None) -> Deadline:
        """The deadline ``seconds`` from now."""
        clock = clock or monotonic
        return Deadline(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left; ``0.0`` once passed."""
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.at

    def __repr__(self) -> str:
        return f"Deadline(at={self.at!r}, clock={self.clock!r})"


_current: ContextVar[Deadline | None] = ContextVar("seawall_deadline", default=None)
DeadlineToken = Token[Deadline | None]
# Bound once for the per-request pair below: compiled code calls a bound method directly but
# looks a method up by name on every call (about 300 instructions a request saved).
_get: Final = _current.get
_set: Final = _current.set
_reset: Final = _current.reset
_monotonic: Final = monotonic  # a C static, not a read of this module's dict per deadline


def current_deadline() -> Deadline | None:
    """The innermost deadline in force, or ``None`` outside any :func:`deadline_scope`."""
    return _get()


def remaining() -> float | None:
    """Seconds left before the current deadline (``0.0`` once passed); ``None`` if there is none.

    >>> httpx.get(url, timeout=remaining() or 10.0)
    """
    deadline = _get()
    return None if deadline is None else deadline.remaining()


def expired() -> bool:
    """True when there is a deadline and it has passed."""
    deadline = _get()
    return deadline is not None and deadline.expired()


def check_deadline(route: str | None = None) -> None:
    """Raise :class:`DeadlineExceededError` (a 503) if the deadline has already passed."""
    deadline = _get()
    if deadline is not None and deadline.clock() >= deadline.at:
        raise DeadlineExceededError(route=route)


class DeadlineScope:
    """Sets the deadline on enter and restores the previous one on exit; see :func:`deadline_scope`.

    Enter and exit may happen in different calls (a WSGI body closed later), as long as both
    run in the same context.
    """

    __slots__ = ("_clock", "_seconds", "_token", "deadline")

    def __init__(self, seconds: float | None, clock: Clock | None = None) -> None:
        self._seconds = seconds
        self._clock = clock
        self._token: DeadlineToken | None = None
        self.deadline: Deadline | None = None  # the one in force inside, once entered

    def __enter__(self) -> Deadline | None:
        if self._seconds is not None:
            self._token = push_deadline(self._seconds, self._clock)
        self.deadline = _get()
        return self.deadline

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


def push_deadline(
    seconds: float, clock: Clock | None = None, deadline: Deadline | None = None
) -> DeadlineToken | None:
    """Set the deadline ``seconds`` from now unless an outer one is as soon; for hot paths.

    ``deadline`` is that point when the caller has made it already (a route timeout is one).
    Returns the token to hand to :func:`pop_deadline`, or ``None`` when the outer deadline stays.
    """
    outer = _get()
    # The outer deadline wins when it leaves no more time than ours would.
    if outer is not None and outer.at - outer.clock() <= seconds:
        return None
    if deadline is None:
        clock = clock or _monotonic
        deadline = Deadline(clock() + seconds, clock)
    return _set(deadline)


def pop_deadline(token: DeadlineToken | None) -> None:
    """Restore the deadline that :func:`push_deadline` replaced."""
    if token is not None:
        _reset(token)


def deadline_scope(seconds: float | None, *, clock: Clock | None = None) -> DeadlineScope:
    """Run the block under a deadline ``seconds`` from now, or the outer one if that is sooner.

    ``None`` adds no deadline (the outer one, if any, stays). The ``with`` target is the
    deadline in force.

    >>> with deadline_scope(2.0) as deadline:
    ...     call_backend(timeout=deadline.remaining())
    """
    return DeadlineScope(seconds, clock)
