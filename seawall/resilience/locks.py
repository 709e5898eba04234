"""A mutex for the per-request hot path: one token in a ``queue.SimpleQueue``.

On CPython 3.11 ``threading.Lock.acquire`` parses its optional arguments with the generic
keyword parser on every call (about 300 instructions, even with no arguments); a bulkhead and a
breaker take a lock three times per request. ``SimpleQueue.get``/``put`` use the fast argument
path: a pair costs about 290 instructions less from interpreted code (the pure-Python build)
and about the same, with fewer cache and branch misses, from compiled code (see
``benchmarks/PROFILE.md``, fourth round). ``get`` still blocks (without the GIL) until the
holder puts the token back: the same mutual exclusion as a ``Lock``.

>>> lock = TokenLock()
>>> with lock:
...     counter += 1
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from queue import SimpleQueue
from types import TracebackType

__all__ = ["TokenLock"]


class TokenLock:
    """A non-reentrant mutex: ``acquire()`` takes the one token, ``release()`` returns it.

    ``acquire`` and ``hand_back`` are the queue's own bound methods, so hot callers that keep
    them call C directly. Unlike ``threading.Lock``, releasing a lock that is not held is not
    detected (it would let two holders in): release only what you acquired, ideally in a
    ``try``/``finally`` or a ``with`` block.
    """

    __slots__ = ("_tokens", "acquire", "hand_back", "release")

    def __init__(self) -> None:
        tokens: SimpleQueue[bool] = SimpleQueue()
        tokens.put(True)
        self._tokens = tokens
        # Blocks until the token is back; returns it (True), as Lock.acquire() does.
        self.acquire: Callable[[], bool] = tokens.get
        self.release: Callable[[], None] = functools.partial(tokens.put, True)
        # For hot paths: ``token = lock.acquire()`` ... ``lock.hand_back(token)`` is release()
        # without the partial's extra call.
        self.hand_back: Callable[[bool], None] = tokens.put

    def locked(self) -> bool:
        """True while some caller holds the token."""
        return self._tokens.empty()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
