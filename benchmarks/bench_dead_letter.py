"""Dead-letter ``put`` on SQLite beside raw SQLite and persist-queue, in one interleaved run.

    python benchmarks/bench_dead_letter.py [--number 2000] [--rounds 5]

Each round times ``--number`` puts of a small payload per variant, the variants interleaved;
prints the median per put over rounds and the spread (min..max of the round medians).
Target (issue #19): seawall's put median <= 50 us (persist-queue's SQLiteAckQueue: 281 us).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # an installed or compiled build wins

import persistqueue  # the peer comes with the "bench" extra

from seawall.config.schema import DeadLetterSettings
from seawall.dead_letter import DeadLetters

PAYLOAD = {"to": "ann@example.com", "template": "receipt", "order": 1234}


def seawall_put(directory: Path) -> Callable[[], None]:
    queue = DeadLetters(DeadLetterSettings(path=str(directory / "seawall.sqlite3")))
    error = ConnectionError("mail server refused the connection")
    return lambda: queue.put("mailer", PAYLOAD, error=error) and None


def raw_sqlite(directory: Path) -> Callable[[], None]:
    db = sqlite3.connect(directory / "raw.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
    import json

    return lambda: db.execute("INSERT INTO t (payload) VALUES (?)", (json.dumps(PAYLOAD),)) and None


def persist_queue(directory: Path) -> Callable[[], None]:
    queue = persistqueue.SQLiteAckQueue(str(directory / "pq"), multithreading=True)
    return lambda: queue.put(PAYLOAD) and None


VARIANTS = {
    "seawall put": seawall_put,
    "raw sqlite insert": raw_sqlite,
    "persist-queue put": persist_queue,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        puts = {name: make(Path(tmp)) for name, make in VARIANTS.items()}
        medians: dict[str, list[float]] = {name: [] for name in puts}
        for _ in range(args.rounds):
            for name, put in puts.items():
                times = []
                for _ in range(args.number):
                    start = time.perf_counter()
                    put()
                    times.append(time.perf_counter() - start)
                medians[name].append(statistics.median(times) * 1e6)
    print(f"dead-letter put, {args.number} puts x {args.rounds} interleaved rounds (us per put)")
    for name, values in medians.items():
        print(
            f"  {name:<20} median {statistics.median(values):7.1f}   rounds {min(values):.1f}..{max(values):.1f}"
        )


if __name__ == "__main__":
    main()
