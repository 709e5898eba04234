"""The ``redis`` backend: every worker's breakers share trips, half-open leases and overrides.

Breakers still decide locally and never wait on Redis: a listener on each breaker's
transitions (not on calls) queues what changed, and two background threads talk to Redis, one
publishing, claiming leases and pinging about once a second, one subscribed to the channel.

- A trip in one worker is published; every other worker holds its breaker open until the same
  wall-clock time. When that time comes, workers race for the breaker's lease (a key with an
  expiry): the winner goes half-open and runs ``half_open_calls`` probes, the others stay open
  until its result (``closed`` or a new trip) arrives, or its lease expires.
- Manual actions are published and the lasting ones (force open, disable, metrics only) kept in
  Redis until ``close`` or ``reset``: a worker that starts reads them.
- Redis away (:data:`STRIKES` round trips in a row failed or took longer than ``state.timeout``:
  one slow ping on a loaded machine is no outage): one :class:`~seawall.events.StateUnavailable`,
  every worker decides alone; once it
  answers, each worker re-reads Redis, publishes its own open breakers, and says
  :class:`~seawall.events.StateRestored`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from seawall.clock import Clock, monotonic
from seawall.config.schema import StateSettings
from seawall.observability.events import EventBus, StateRestored, StateUnavailable
from seawall.resilience.breaker import BreakerEvent, CircuitBreaker, State
from seawall.resilience.registry import BreakerEntry, BreakerRegistry
from seawall.state.actions import ACTIONS, OVERRIDES, apply_action
from seawall.state.messages import CLOSED, OPENED, Message, decode
from seawall.state.store import RedisStore, Shared, connect

__all__ = ["RedisState"]

AUTOMATIC_OPEN = frozenset(
    {"failure_rate", "slow_call_rate", "consecutive_failures", "probe_failed", "probe_slow"}
)
"""Transition reasons worth telling the others: a breaker's own decisions, not applied ones."""
SHARED_OPEN = "shared_open"
GRACE = 1.0
"""Seconds a held breaker waits past its end for the lease race before it goes half-open alone."""
PING_EVERY = 1.0
STRIKES = 2
"""Failed round trips in a row (a second try :data:`PING_EVERY` after the first) before Redis
counts as away."""
RETRY_EVERY = 0.5
LISTEN_WAIT = 0.25  # seconds the subscriber blocks on its socket between checks for stopping
_RESYNC, _TICK = object(), object()


class RedisState:
    """Shares the breakers of ``registry`` with every worker on ``settings.url`` under
    ``settings.prefix``; :meth:`close` stops its threads."""

    backend = "redis"

    def __init__(
        self,
        settings: StateSettings,
        registry: BreakerRegistry,
        events: EventBus,
        *,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.events = events
        self._clock = clock or monotonic
        self._wall = wall
        self._known = Shared()  # the last view of Redis, for breakers registered later
        self._overridden: set[str] = set()  # names this worker holds in an override
        self._due: dict[str, float] = {}  # name -> wall-clock time to race for its lease
        self._down_since: float | None = None
        self._pending: dict[str, Message] = {}  # actions taken while Redis was away
        self._unsent: dict[str, str] = {}  # name -> action taken here, not in Redis yet
        self.dropped = 0  # changes not queued because the queue was full
        self.strikes = 0  # round trips failed in a row while Redis counted as available
        self._start()
        registry.watch(self._attach)
        _forks.add(self)

    def _start(self) -> None:
        self.origin = uuid.uuid4().hex
        self._lock = threading.Lock()
        self.store = RedisStore(
            connect(self.settings.url, self.settings.timeout), self.settings.prefix
        )
        self._outbox: queue.Queue[object] = queue.Queue(maxsize=1024)
        self._stopping = threading.Event()
        self._available = False
        self._threads = [
            threading.Thread(target=self._work, name="seawall-state", daemon=True),
            threading.Thread(target=self._listen, name="seawall-state-listen", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def available(self) -> bool:
        """True while Redis answers."""
        return self._available

    # -- what the request side does: queue, never wait -----------------------------------

    def command(self, name: str, action: str) -> list[BreakerEntry]:
        """Do ``action`` to every local breaker called ``name`` now and tell every worker."""
        if action not in ACTIONS:
            raise ValueError(f"unknown breaker action {action!r} (known: {', '.join(ACTIONS)})")
        entries = self.registry.named(name)
        with self._lock:
            self._unsent[name] = action  # a resync before it is sent must not undo it
        self._apply(name, action, entries)
        self._put(Message(action, name, self.origin))
        return entries

    def _attach(self, entry: BreakerEntry) -> None:
        entry.breaker.add_listener(functools.partial(self._transition, entry.breaker))
        with self._lock:
            known = self._known
        self._apply_known(entry, known)

    def _transition(self, breaker: CircuitBreaker, event: BreakerEvent) -> None:
        if event.new_state is State.OPEN and event.reason in AUTOMATIC_OPEN:
            left = breaker.snapshot().seconds_to_half_open or 0.0
            self._put(Message(OPENED, breaker.name, self.origin, self._wall() + left))
        elif event.new_state is State.CLOSED and event.reason == "probes_succeeded":
            self._put(Message(CLOSED, breaker.name, self.origin))

    def _put(self, item: object) -> None:
        try:
            self._outbox.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    # -- applying what others decided -----------------------------------------------------

    def _apply(self, name: str, action: str, entries: list[BreakerEntry]) -> None:
        with self._lock:
            if action in OVERRIDES:
                self._overridden.add(name)
                self._known.overrides[name] = action
            else:
                self._overridden.discard(name)
                self._known.overrides.pop(name, None)
                self._known.opened.pop(name, None)
                self._due.pop(name, None)
        for entry in entries:
            apply_action(entry.breaker, action)

    def _hold(self, name: str, until: float, entries: list[BreakerEntry]) -> None:
        """Hold ``name`` open until wall-clock ``until`` (plus the grace), and race then."""
        local_until = self._clock() + (until - self._wall()) + GRACE
        held = False
        for entry in entries:
            held = entry.breaker.hold_open(local_until, SHARED_OPEN) or held
        if held:
            with self._lock:
                self._due[name] = until
            self._put(_TICK)

    def _apply_known(self, entry: BreakerEntry, known: Shared) -> None:
        name = entry.name
        override = known.overrides.get(name)
        if override is not None:
            with self._lock:
                self._overridden.add(name)
            apply_action(entry.breaker, override)
            return
        if name in self._overridden:  # cleared while this worker could not hear it
            with self._lock:
                self._overridden.discard(name)
            entry.breaker.reset()
        until = known.opened.get(name)
        if until is not None:
            self._hold(name, until, [entry])

    def _receive(self, message: Message | None) -> None:
        if message is None or message.origin == self.origin:
            return
        name = message.name
        entries = self.registry.named(name)
        if message.op == OPENED and message.until is not None:
            with self._lock:
                self._known.opened[name] = message.until
            self._hold(name, message.until, entries)
        elif message.op == CLOSED:
            with self._lock:
                self._known.opened.pop(name, None)
                self._due.pop(name, None)
            for entry in entries:
                if entry.breaker.state in (State.OPEN, State.HALF_OPEN):
                    entry.breaker.close()
        else:
            self._apply(name, message.op, entries)

    # -- the worker thread: publish, race for leases, ping --------------------------------

    def _work(self) -> None:
        last = 0.0
        again: object = None  # what failed on the first strike, tried again
        while not self._stopping.is_set():
            if again is not None:
                item, again = again, None
            else:
                try:
                    item = self._outbox.get(timeout=self._wait())
                except queue.Empty:
                    item = None
            if self._stopping.is_set():
                return
            try:
                if not self._available:
                    if item is not None and item is not _TICK and item is not _RESYNC:
                        self._offline(item)
                    self._run_due(None)
                    if self._wall() - last < RETRY_EVERY:
                        continue
                    last = self._wall()
                    self._resync()
                    self._restored()
                    continue
                if isinstance(item, Message):
                    self._send(item)
                elif item is _RESYNC:
                    self._resync()
                self._run_due(self.store)
                if self._wall() - last >= PING_EVERY:
                    self.store.ping()
                last = self._wall()
                self.strikes = 0
            except Exception as exc:  # redis-py raises its own errors and OSError subclasses
                if self._available and not self._strike(exc):
                    again = _TICK if item is None else item
                    self._stopping.wait(PING_EVERY)  # then try again, the ping included
                    last = 0.0
                else:
                    self._unavailable(exc)

    def _wait(self) -> float:
        with self._lock:
            due = min(self._due.values(), default=None)
        wait = PING_EVERY if self._available else RETRY_EVERY
        if due is not None:
            wait = min(wait, due - self._wall())
        return max(0.0, wait)

    def _send(self, message: Message) -> None:
        name = message.name
        if message.op == OPENED and message.until is not None:
            self._hold(name, message.until, self.registry.named(name))
            self.store.release(name, self.origin)  # a failed probe ends our lease
        elif message.op == CLOSED:
            self.store.release(name, self.origin)
        self._store_send(message)

    def _store_send(self, message: Message) -> None:
        self.store.send(message)
        with self._lock:
            if self._unsent.get(message.name) == message.op:
                del self._unsent[message.name]

    def _offline(self, item: object) -> None:
        """Redis is away: local trips stay local (resync publishes them); actions wait."""
        if isinstance(item, Message) and item.op in ACTIONS:
            self._pending[item.name] = item

    def _run_due(self, store: RedisStore | None) -> None:
        now = self._wall()
        with self._lock:
            due = [name for name, at in self._due.items() if at <= now]
            for name in due:
                del self._due[name]
        for name in due:
            entries = [
                e
                for e in self.registry.named(name)
                if e.breaker.state in (State.OPEN, State.HALF_OPEN)
            ]
            if not entries:
                continue
            if store is None:  # decide alone: go half-open now
                self._release(entries)
                continue
            ttl = max(e.breaker.settings.open_for for e in entries)
            left = store.claim(name, self.origin, ttl)
            with self._lock:
                self._due[name] = now + (ttl if left == 0.0 else left)
            if left == 0.0:
                self._release(entries)
            else:
                for entry in entries:
                    entry.breaker.hold_open(self._clock() + left + GRACE, SHARED_OPEN)

    def _release(self, entries: list[BreakerEntry]) -> None:
        now = self._clock()
        for entry in entries:
            if entry.breaker.state is State.OPEN:
                entry.breaker.hold_open(now, SHARED_OPEN)

    def _resync(self) -> None:
        """Re-read Redis and apply it; send what changed here while it was away."""
        for message in list(self._pending.values()):
            self._store_send(message)
            del self._pending[message.name]
        shared = self.store.read(self._wall())
        with self._lock:
            unsent = dict(self._unsent)
        for name, action in unsent.items():  # queued behind this resync: still ours
            if action in OVERRIDES:
                shared.overrides[name] = action
            else:
                shared.overrides.pop(name, None)
                shared.opened.pop(name, None)
        if shared.fresh:  # Redis came back empty: write back the overrides this worker holds
            with self._lock:
                held = {n: a for n, a in self._known.overrides.items() if n in self._overridden}
            for name, action in held.items():
                self.store.send(Message(action, name, self.origin))
                shared.overrides[name] = action
        with self._lock:
            self._known = Shared(dict(shared.overrides), dict(shared.opened))
        for entry in self.registry:
            self._apply_known(entry, shared)
            if entry.name not in shared.opened and entry.breaker.state is State.OPEN:
                left = entry.breaker.snapshot().seconds_to_half_open or 0.0
                until = self._wall() + left
                shared.opened[entry.name] = until
                self.store.send(Message(OPENED, entry.name, self.origin, until))

    def report_unavailable(self, exc: BaseException) -> None:
        """Something using this connection failed a round trip: a strike (see :data:`STRIKES`)."""
        if self._available and not self._strike(exc):
            return
        self._unavailable(exc)

    def _strike(self, exc: BaseException) -> bool:
        """Count one failed round trip; True when that makes :data:`STRIKES` in a row."""
        with self._lock:
            self.strikes += 1
            return self.strikes >= STRIKES

    def _unavailable(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = self._wall()
            self._available = False
            self.strikes = 0
        if first:
            self.events.publish(StateUnavailable(self.backend, f"{type(exc).__name__}: {exc}"))

    def _restored(self) -> None:
        with self._lock:
            since, self._down_since = self._down_since, None
            self._available = True
        if since is not None:
            self.events.publish(StateRestored(self.backend, self._wall() - since))

    # -- the subscriber thread -------------------------------------------------------------

    def _listen(self) -> None:
        while not self._stopping.is_set():
            pubsub: Any = None
            try:
                client: Any = self.store.client  # redis-py's pubsub() is untyped
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.store.channel)
                self._put(_RESYNC)  # what was published before we listened
                while not self._stopping.is_set():
                    raw = pubsub.get_message(timeout=LISTEN_WAIT)
                    if raw is not None and raw.get("type") == "message":
                        self._receive(decode(raw["data"]))
            except Exception as exc:  # redis-py's errors, OSError: listen again shortly
                self._unavailable(exc)
                self._stopping.wait(RETRY_EVERY)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # closing a dead connection may fail
                        pubsub.close()

    # -- life ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the threads and the connections (the breakers keep their last state)."""
        self._stopping.set()
        self._put(_TICK)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        self.store.client.close()

    def _after_fork(self) -> None:
        """A forked worker (gunicorn ``--preload``) gets its own id, connections and threads."""
        if not self._stopping.is_set():
            self._start()


_forks: weakref.WeakSet[RedisState] = weakref.WeakSet()


def _restart_after_fork() -> None:
    for state in list(_forks):
        state._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_after_fork)
