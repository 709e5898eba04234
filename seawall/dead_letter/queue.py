"""The dead-letter queue an app uses: store failed-for-good operations, list, replay, purge.

:class:`DeadLetters` holds one backend (from the ``dead_letter`` settings), the redactor that
error messages and displayed payloads pass, and a wall clock (entries carry calendar times).
Replays lease each entry before running it, so two replayers never run the same entry, and
run it through its dependency's policy when the queue names a configured dependency.
Every stored entry is a :class:`~seawall.observability.events.DeadLetterStored` event on
``events`` (the alert rule on depth listens), its depth estimated cheaply (see
:mod:`seawall.dead_letter.depth`).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from seawall.clock import Clock, monotonic
from seawall.config.schema import DeadLetterSettings
from seawall.context.correlation import get_correlation_id
from seawall.context.replaying import REPLAYING
from seawall.dead_letter.depth import DepthEstimate
from seawall.dead_letter.entry import Entry, ErrorInfo
from seawall.dead_letter.store import Store
from seawall.observability.events import BUS, DeadLetterStored, EventBus
from seawall.observability.redaction import Redactor

__all__ = ["REPLAYING", "DeadLetters", "ReplayReport", "Runner", "dotted_path", "through_policy"]

LEASE = 600.0
"""Seconds a replayer holds an entry; a replayer that dies frees it after this long."""


Runner = Callable[[Entry, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]
"""Runs a replayed call: ``runner(entry, fn, args, kwargs)``; the default,
:func:`through_policy`, calls ``fn`` through ``seawall.dependency(entry.queue)`` when that is
a configured dependency, else directly. An awaitable it returns is run to completion."""


@dataclass
class ReplayReport:
    """What a replay did: entries that succeeded (and were removed), failed again (and wait
    for their next try), or were not theirs to run (leased by another replayer)."""

    succeeded: int = 0
    failed: int = 0
    skipped: int = 0


class DeadLetters:
    """One app's dead letters on the backend its settings name."""

    def __init__(
        self,
        settings: DeadLetterSettings | None = None,
        *,
        redactor: Redactor | None = None,
        store: Store | None = None,
        wall: Callable[[], float] = time.time,
        events: EventBus | None = None,
        clock: Clock = monotonic,
    ) -> None:
        self.settings = settings = settings or DeadLetterSettings()
        self.redactor = redactor or Redactor()
        self.store = store if store is not None else open_store(settings)
        self.wall = wall
        self.events = events if events is not None else BUS
        self._depth = DepthEstimate(self.store.depths, clock=clock)
        self._replayers: dict[str, Callable[..., Any]] = {}

    # -- storing -------------------------------------------------------------------------------

    def put(
        self,
        queue: str,
        payload: Any,
        *,
        error: BaseException | None = None,
        idempotency_key: str | None = None,
    ) -> Entry:
        """Store ``payload`` for ``queue``'s replayer; durable once this returns."""
        return self._add(queue, None, payload, error, error, 1, idempotency_key)

    def record_call(
        self,
        queue: str,
        fn: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        attempts: int,
        first_error: BaseException | None,
        last_error: BaseException | None,
    ) -> Entry | None:
        """Store a decorated call that failed for good, to replay ``fn(*args, **kwargs)``.
        Inside a replay nothing is stored: the replay itself reschedules its entry. An
        ``idempotency_key`` keyword of the call becomes the entry's key."""
        if REPLAYING.get() is not None:
            return None
        payload = {"args": list(args), "kwargs": dict(kwargs)}
        key = kwargs.get("idempotency_key")
        key = key if isinstance(key, str) and key else None
        return self._add(queue, dotted_path(fn), payload, first_error, last_error, attempts, key)

    def _add(
        self,
        queue: str,
        target: str | None,
        payload: Any,
        first: BaseException | None,
        last: BaseException | None,
        attempts: int,
        idempotency_key: str | None,
    ) -> Entry:
        last = last or first
        unstorable = None
        if target is not None and "<" in target:
            unstorable = f"the callable has no importable dotted path ({target})"
        now = self.wall()
        entry = Entry(
            id="",
            queue=queue,
            payload=payload,
            idempotency_key=idempotency_key or uuid.uuid4().hex,
            created=now,
            next_attempt=now,
            attempts=attempts,
            target=target,
            replayable=unstorable is None,
            reason=unstorable,
            first_error=None if first is None else ErrorInfo.of(first, self.redactor.text),
            last_error=None if last is None else ErrorInfo.of(last, self.redactor.text),
            correlation_id=get_correlation_id(),
        )
        try:
            stored = self.store.add(entry)
        except (TypeError, ValueError) as exc:  # the payload is not JSON: keep why, not it
            reason = f"the arguments are not JSON-serialisable ({type(exc).__name__})"
            stored = self.store.add(replace(entry, payload=None, replayable=False, reason=reason))
        events = self.events
        if events.wants(DeadLetterStored):
            events.publish(DeadLetterStored(queue, self._depth.after_put(queue)))
        return stored

    # -- reading -------------------------------------------------------------------------------

    def entries(self, queue: str | None = None, limit: int | None = None) -> list[Entry]:
        return self.store.entries(queue, limit)

    def get(self, id: str) -> Entry | None:
        return self.store.get(id)

    def show(self, entry: Entry, *, raw: bool = False) -> dict[str, Any]:
        """The entry for people: the payload redacted unless ``raw``."""
        return entry.shown(self.redactor.redact, raw=raw)

    def depths(self) -> dict[str, int]:
        return self.store.depths()

    # -- replaying -----------------------------------------------------------------------------

    def replayer(self, queue: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the function that replays :meth:`put` entries of ``queue``: it gets the
        payload (and ``idempotency_key=`` when it takes that parameter)."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._replayers[queue] = fn
            return fn

        return register

    def replay(
        self,
        *,
        ids: Sequence[str] | None = None,
        queue: str | None = None,
        due: bool = False,
        runner: Runner | None = None,
    ) -> ReplayReport:
        """Run entries again (the given ``ids``, a ``queue``'s, or all; only those due if
        ``due``): a success removes the entry, a failure counts an attempt and backs off."""
        report = ReplayReport()
        runner = runner or through_policy
        candidates = (
            list(ids) if ids is not None else self.store.ids(queue, self.wall() if due else None)
        )
        for id in candidates:
            entry = self.store.claim(id, now=self.wall(), lease=LEASE)
            if entry is None:
                report.skipped += 1
                continue
            try:
                self._run(entry, runner)
            except Exception as exc:
                self.store.reschedule(
                    entry.failed_again(ErrorInfo.of(exc, self.redactor.text), self.wall())
                )
                report.failed += 1
            else:
                self.store.complete(entry)
                report.succeeded += 1
        return report

    def _run(self, entry: Entry, runner: Runner) -> Any:
        if entry.target is None:
            fn = self._replayers.get(entry.queue)
            if fn is None:
                raise LookupError(f"no replayer is registered for queue {entry.queue!r}")
            args: tuple[Any, ...] = (entry.payload,)
            kwargs: dict[str, Any] = {}
        else:
            fn = resolve(entry.target)
            args, kwargs = tuple(entry.payload["args"]), dict(entry.payload["kwargs"])
        if _takes(fn, "idempotency_key"):
            kwargs["idempotency_key"] = entry.idempotency_key
        with _replaying(entry):
            result = runner(entry, fn, args, kwargs)
            if inspect.isawaitable(result):  # an async callable: run it here, to its end
                return asyncio.run(_awaited(result))
            return result

    # -- retention -----------------------------------------------------------------------------

    def purge(self, older_than: float | None = None) -> int:
        """Remove entries older than ``older_than`` seconds (default: the retention)."""
        age = self.settings.retention if older_than is None else older_than
        return self.store.purge(self.wall() - age)

    def close(self) -> None:
        self.store.close()


def through_policy(
    entry: Entry, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The default :data:`Runner`: ``fn`` through ``seawall.dependency(entry.queue)`` (its
    breaker, limits, timeout and retries; never its fallback) when the process-wide
    dependencies (the newest install or ``seawall.Dependencies``) configure that name, else
    ``fn(*args, **kwargs)``."""
    from seawall.client.dependencies import active

    dependencies = active()
    if dependencies is None or entry.queue not in dependencies:
        return fn(*args, **kwargs)
    dependency = dependencies[entry.queue]
    if inspect.iscoroutinefunction(fn):
        return dependency.arun(fn, args, kwargs)
    return dependency.run(fn, args, kwargs)


async def _awaited(result: Any) -> Any:
    return await result


def open_store(settings: DeadLetterSettings) -> Store:
    """The backend ``settings`` name."""
    if settings.backend == "redis":
        from seawall.dead_letter.redis import RedisStore

        assert settings.url is not None  # the settings parser requires it
        return RedisStore(settings.url, max_entries=settings.max_entries)
    from seawall.dead_letter.sqlite import SQLiteStore

    return SQLiteStore(settings.path, max_entries=settings.max_entries)


def dotted_path(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of ``fn``; names with ``<`` (lambdas, locals) cannot be imported."""
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def resolve(path: str) -> Callable[..., Any]:
    """Import ``module.attr[.attr...]``: the longest importable module prefix, then attributes."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        # A decorated function replays its undecorated body: the caller adds the policy.
        if not callable(found):
            raise TypeError(f"{path!r} is not callable")
        fn: Callable[..., Any] = inspect.unwrap(found)
        return fn
    raise ImportError(f"cannot import {path!r}")


def _takes(fn: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters


@contextmanager
def _replaying(entry: Entry) -> Iterator[None]:
    token = REPLAYING.set(entry)
    try:
        yield
    finally:
        REPLAYING.reset(token)
