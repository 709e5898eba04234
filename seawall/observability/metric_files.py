"""prometheus_client's multiprocess directory kept small: dead workers' files merged or removed.

Under ``PROMETHEUS_MULTIPROC_DIR`` every worker writes its own files (``counter_<pid>.db``...),
and a scrape sums them. Workers restarted by gunicorn's ``max_requests`` or a crash leave theirs
behind: their counts must stay in the totals (counters never go down), but ``live*`` gauges of
a dead worker must vanish. So, before each exposition, under a lock file: the ``live*`` gauge
files of dead processes are deleted (what ``mark_process_dead`` does), and their counter,
histogram and summary files are added into one ``<type>_merged.db`` per type and deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["alive", "collect", "compact"]

_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_(\d+)\.db")
_MERGED = "{kind}_merged.db"
_LOCK = ".seawall.lock"


def alive(pid: int) -> bool:
    """True while a process with ``pid`` exists (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / _LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def compact(directory: str | os.PathLike[str]) -> int:
    """Merge or remove the files of dead processes; returns how many files went."""
    with _locked(Path(directory)):
        return _compact(Path(directory))


def collect(directory: str | os.PathLike[str]) -> bytes:
    """The text exposition of every worker's files, dead workers' compacted first. Under the
    lock: a scrape in another worker never sees a file half merged."""
    root = Path(directory)
    with _locked(root):
        _compact(root)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(root))  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def _compact(root: Path) -> int:
    """:func:`compact` with the lock held."""
    dead: dict[str, list[Path]] = defaultdict(list)
    for path in root.iterdir():
        found = _FILE.fullmatch(path.name)
        if found is not None and not alive(int(found[2])):
            dead[found[1]].append(path)
    removed = 0
    for kind, paths in dead.items():
        if not kind.startswith("gauge_"):
            _merge(root / _MERGED.format(kind=kind), paths)
        elif not kind.startswith("gauge_live"):
            continue  # the other gauge modes keep a dead worker's value: the user chose them
        removed += _remove(paths)
    return removed


def _merge(target: Path, sources: list[Path]) -> None:
    """Add every value of ``sources`` into ``target``, key by key."""
    # prometheus_client's file format is untyped: read and written through its own class.
    merged: Any = MmapedDict(str(target))  # type: ignore[no-untyped-call]
    read: Any = MmapedDict.read_all_values_from_file
    try:
        for source in sources:
            for key, value, timestamp, _ in read(str(source)):
                current, _ = merged.read_value(key)
                merged.write_value(key, current + value, timestamp)
    finally:
        merged.close()


def _remove(paths: list[Path]) -> int:
    for path in paths:
        path.unlink(missing_ok=True)
    return len(paths)
