"""Dead letters in one SQLite file: WAL mode, one transaction per entry, owner-only access.

The table has no index beside its primary key: each index costs a put as much again, and only
the operator's commands (list by queue, purge by age) would use one.

``synchronous=NORMAL`` in WAL mode keeps every committed entry through a crash of the process
(the OS holds the written pages); only a power loss may take the last commits. The file (and
SQLite's ``-wal``/``-shm`` files, which take its mode) is created readable by its owner only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

from seawall.dead_letter.entry import Entry

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    created REAL NOT NULL,
    next_attempt REAL NOT NULL,
    replayable INTEGER NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    record TEXT NOT NULL
);
"""
_COLUMNS = "id, payload, record"


class SQLiteStore:
    """A :class:`~seawall.dead_letter.store.Store` on a SQLite file, shared by threads and
    processes (each process opens its own connection; SQLite serialises the writers)."""

    def __init__(self, path: str | os.PathLike[str], *, max_entries: int) -> None:
        self.path = Path(path)
        self.max_entries = max_entries
        _create_private(self.path)
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._lock = threading.Lock()
        # A store dropped without close() (a process-wide queue at exit) still closes its file.
        weakref.finalize(self, self._db.close)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._since_trim = 0
        self._trim_every = max(1, min(1000, max_entries // 10))

    def add(self, entry: Entry) -> Entry:
        record = entry.to_record()
        payload = json.dumps(record.pop("payload"), separators=(",", ":"), allow_nan=False)
        row = (
            entry.queue, entry.created, entry.next_attempt, int(entry.replayable),
            payload, _record_json(record),
        )  # fmt: skip
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO dead_letters (queue, created, next_attempt, replayable, payload,"
                " record) VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            self._since_trim += 1
            if self._since_trim >= self._trim_every:
                self._trim()
        return _with_id(entry, str(cursor.lastrowid))

    def _trim(self) -> None:
        """Keep at most ``max_entries``, the oldest go first (checked every tenth of it, at
        most every 1,000 adds, so the count may pass the limit by that much in between)."""
        self._since_trim = 0
        self._db.execute(
            "DELETE FROM dead_letters WHERE id <= (SELECT id FROM dead_letters ORDER BY id DESC"
            " LIMIT 1 OFFSET ?)",
            (self.max_entries,),
        )

    def get(self, id: str) -> Entry | None:
        key = _rowid(id)
        if key is None:
            return None
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM dead_letters WHERE id = ?", (key,)
            ).fetchone()
        return None if row is None else _entry(row)

    def entries(self, queue: str | None = None, limit: int | None = None) -> list[Entry]:
        where, args = ("WHERE queue = ?", [queue]) if queue is not None else ("", [])
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM dead_letters {where} ORDER BY id LIMIT ?",
                (*args, -1 if limit is None else limit),
            ).fetchall()
        return [_entry(row) for row in rows]

    def ids(self, queue: str | None = None, due_by: float | None = None) -> list[str]:
        where: list[str] = ["replayable = 1"]
        args: list[object] = []
        if queue is not None:
            where.append("queue = ?")
            args.append(queue)
        if due_by is not None:
            where.append("next_attempt <= ?")
            args.append(due_by)
        with self._lock:
            rows = self._db.execute(
                f"SELECT id FROM dead_letters WHERE {' AND '.join(where)} ORDER BY id", args
            ).fetchall()
        return [str(rowid) for (rowid,) in rows]

    def claim(self, id: str, *, now: float, lease: float) -> Entry | None:
        key = _rowid(id)
        if key is None:
            return None
        with self._lock:
            row = self._db.execute(
                f"UPDATE dead_letters SET lease_until = ? WHERE id = ? AND replayable = 1"
                f" AND lease_until <= ? RETURNING {_COLUMNS}",
                (now + lease, key, now),
            ).fetchone()
        return None if row is None else _entry(row)

    def complete(self, entry: Entry) -> None:
        with self._lock:
            self._db.execute("DELETE FROM dead_letters WHERE id = ?", (_rowid(entry.id),))

    def reschedule(self, entry: Entry) -> None:
        record = entry.to_record()
        del record["payload"]  # as stored: a replay never changes it
        with self._lock:
            self._db.execute(
                "UPDATE dead_letters SET next_attempt = ?, lease_until = 0, record = ?"
                " WHERE id = ?",
                (entry.next_attempt, _record_json(record), _rowid(entry.id)),
            )

    def purge(self, created_before: float) -> int:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM dead_letters WHERE created < ?", (created_before,)
            )
        return cursor.rowcount

    def depths(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT queue, COUNT(*) FROM dead_letters GROUP BY queue ORDER BY queue"
            ).fetchall()
        return dict(rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it (SQLite would use the umask)."""
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return


def _record_json(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"))


def _rowid(id: str) -> int | None:
    return int(id) if id.isdigit() else None


def _entry(row: tuple[int, str, str]) -> Entry:
    rowid, payload, record = row
    data = json.loads(record)
    return Entry.from_record(str(rowid), {**data, "payload": json.loads(payload)})


def _with_id(entry: Entry, id: str) -> Entry:
    return replace(entry, id=id)
