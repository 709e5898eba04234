"""Dead letters on Redis, shared by every worker: one stream per queue.

A stream entry holds what was stored at first (the stream id is the entry's id); what a failed
replay changes (attempts, last error, next try) lives in one hash beside the streams. A replayer
leases an entry with ``SET NX PX``, so two workers never run the same one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis

from seawall.dead_letter.entry import Entry

__all__ = ["RedisStore"]

_CHANGED = ("attempts", "last_error", "next_attempt")


class RedisStore:
    """A :class:`~seawall.dead_letter.store.Store` on Redis streams."""

    def __init__(self, url: str, *, max_entries: int, prefix: str = "seawall:") -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=5.0)
        self.max_entries = max_entries
        self._base = f"{prefix}dead-letters:"
        self._queues = self._base + "queues"
        self._state = self._base + "state"
        self._owner = uuid.uuid4().hex

    def _stream(self, queue: str) -> str:
        return self._base + "queue:" + queue

    def add(self, entry: Entry) -> Entry:
        record = entry.to_record()
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(self._queues, entry.queue)
        pipe.xadd(
            self._stream(entry.queue),
            {"record": json.dumps(record, separators=(",", ":"), allow_nan=False)},
            maxlen=self.max_entries,
            approximate=True,
        )
        _, id = pipe.execute()
        return Entry.from_record(_text(id), record)

    def _queue_names(self) -> list[str]:
        return sorted(_text(name) for name in self._redis.smembers(self._queues))

    def _read(self, queue: str, raw: Any) -> list[Entry]:
        """Stream items of ``queue`` as entries, with what replays changed merged in."""
        if not raw:
            return []
        ids = [_text(id) for id, _ in raw]
        changes = self._redis.hmget(self._state, ids)
        entries = []
        for (id, fields), change in zip(raw, changes, strict=True):
            record = json.loads(fields[b"record"])
            if change is not None:
                record.update(json.loads(change))
            entries.append(Entry.from_record(_text(id), record))
        return entries

    def get(self, id: str) -> Entry | None:
        if not _stream_id(id):
            return None
        for queue in self._queue_names():
            found = self._read(queue, self._redis.xrange(self._stream(queue), id, id))
            if found:
                return found[0]
        return None

    def entries(self, queue: str | None = None, limit: int | None = None) -> list[Entry]:
        queues = [queue] if queue is not None else self._queue_names()
        found: list[Entry] = []
        for name in queues:
            found.extend(self._read(name, self._redis.xrange(self._stream(name), count=limit)))
        found.sort(key=lambda entry: _order(entry.id))
        return found if limit is None else found[:limit]

    def ids(self, queue: str | None = None, due_by: float | None = None) -> list[str]:
        return [
            entry.id
            for entry in self.entries(queue)
            if entry.replayable and (due_by is None or entry.next_attempt <= due_by)
        ]

    def claim(self, id: str, *, now: float, lease: float) -> Entry | None:
        if not _stream_id(id):
            return None
        lease_key = self._base + "lease:" + id
        if not self._redis.set(lease_key, self._owner, nx=True, px=max(int(lease * 1000), 1)):
            return None
        entry = self.get(id)
        if entry is None or not entry.replayable:
            self._redis.delete(lease_key)
            return None
        return entry

    def complete(self, entry: Entry) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.xdel(self._stream(entry.queue), entry.id)
        pipe.hdel(self._state, entry.id)
        pipe.delete(self._base + "lease:" + entry.id)
        pipe.execute()

    def reschedule(self, entry: Entry) -> None:
        record = entry.to_record()
        change = {name: record[name] for name in _CHANGED}
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self._state, entry.id, json.dumps(change, separators=(",", ":")))
        pipe.delete(self._base + "lease:" + entry.id)
        pipe.execute()

    def purge(self, created_before: float) -> int:
        removed = 0
        for entry in self.entries():
            if entry.created < created_before:
                self.complete(entry)
                removed += 1
        return removed

    def depths(self) -> dict[str, int]:
        depths = {
            queue: int(self._redis.xlen(self._stream(queue))) for queue in self._queue_names()
        }
        return {queue: depth for queue, depth in depths.items() if depth}

    def close(self) -> None:
        self._redis.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _stream_id(id: str) -> bool:
    ms, _, seq = id.partition("-")
    return ms.isdigit() and seq.isdigit()


def _order(id: str) -> tuple[int, int]:
    ms, _, seq = id.partition("-")
    return int(ms), int(seq)
