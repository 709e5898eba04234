"""Seawall's keys in one Redis: manual overrides, open breakers, half-open leases, the channel.

Every key starts with the ``state.prefix``; workers with the same prefix share breakers:

- ``{prefix}overrides``: a hash, breaker name to its override (``force_open``, ``disable``,
  ``metrics_only``), kept until ``close`` or ``reset`` clears it;
- ``{prefix}open``: a hash, breaker name to the wall-clock time its trip opens until;
- ``{prefix}lease:{name}``: which worker runs the half-open probes, with an expiry;
- ``{prefix}breakers``: the publish/subscribe channel of :mod:`seawall.state.messages`;
- ``{prefix}known``: set by the first worker to read; when it is missing, Redis lost its data
  (restarted without persistence) and the workers write back the overrides they hold.

Each method is one round trip; the client's timeouts bound it (``state.timeout``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seawall.state.actions import OVERRIDES
from seawall.state.messages import CLOSED, OPENED, Message, encode

if TYPE_CHECKING:
    import redis

__all__ = ["RedisStore", "Shared", "connect"]

# Take the lease, or say how many milliseconds the holder keeps it (-1: it is ours now).
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return -1
end
return redis.call('PTTL', KEYS[1])
"""
# Give the lease back, only if we still hold it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def connect(url: str, timeout: float) -> redis.Redis:
    """A client whose every command gives up after ``timeout`` seconds, without retrying."""
    import redis as redis_py
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client: redis.Redis = redis_py.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    return client


@dataclass
class Shared:
    """What Redis holds for every worker: overrides by name, open breakers' ends (wall clock)."""

    overrides: dict[str, str] = field(default_factory=dict)
    opened: dict[str, float] = field(default_factory=dict)
    fresh: bool = False  # Redis had nothing of ours: it restarted empty, or this is the first


class RedisStore:
    """The state of every breaker under one prefix, read and written through ``client``."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.channel = prefix + "breakers"
        self._overrides = prefix + "overrides"
        self._opened = prefix + "open"
        self._known = prefix + "known"
        self._claim: Any = client.register_script(_CLAIM)
        self._release: Any = client.register_script(_RELEASE)

    def lease_key(self, name: str) -> str:
        return f"{self.prefix}lease:{name}"

    def ping(self) -> None:
        self.client.ping()

    def send(self, message: Message) -> None:
        """Record what ``message`` changes and publish it, in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        name = message.name
        if message.op == OPENED:
            pipe.hset(self._opened, name, repr(message.until))
        elif message.op == CLOSED:
            pipe.hdel(self._opened, name)
        elif message.op in OVERRIDES:
            pipe.hset(self._overrides, name, message.op)
        else:  # close, reset: the override and any trip are over
            pipe.hdel(self._overrides, name)
            pipe.hdel(self._opened, name)
            pipe.delete(self.lease_key(name))
        pipe.publish(self.channel, encode(message))
        pipe.execute()

    def read(self, now: float | None = None) -> Shared:
        """Every override and every trip still open at wall-clock ``now``."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self._overrides)
        pipe.hgetall(self._opened)
        pipe.set(self._known, "1", nx=True)
        overrides, opened, fresh = pipe.execute()
        now = time.time() if now is None else now
        shared = Shared({k: v for k, v in overrides.items() if v in OVERRIDES}, fresh=bool(fresh))
        for name, until in opened.items():
            try:
                end = float(until)
            except ValueError:
                continue
            if end > now:
                shared.opened[name] = end
        return shared

    def claim(self, name: str, owner: str, ttl: float) -> float:
        """Take the half-open lease of ``name`` for ``ttl`` seconds: 0.0 when ``owner`` has it,
        else the seconds its holder keeps it."""
        left = int(self._claim(keys=[self.lease_key(name)], args=[owner, max(1, int(ttl * 1000))]))
        return 0.0 if left < 0 else max(left, 1) / 1000.0

    def release(self, name: str, owner: str) -> None:
        """Give the lease of ``name`` back if ``owner`` still holds it."""
        self._release(keys=[self.lease_key(name)], args=[owner])
