"""``seawall dlq``: list, show, replay and purge the dead-letter queue.

The queue is the one the settings name (``--settings``: a TOML file or ``module:attribute``;
else the ``SEAWALL_*`` environment). Replays import each entry's callable by its dotted path
from the working directory; ``--import MODULE`` loads modules that register replayers. An
entry whose queue is a dependency of those settings is replayed through that dependency's
policy (breaker, limits, timeout, retries; never its fallback).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

from seawall.config.schema import SettingsError
from seawall.config.settings import Settings
from seawall.dead_letter.entry import Entry
from seawall.dead_letter.queue import DeadLetters

__all__ = ["parse_age", "register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("dlq", help="list, show, replay and purge dead letters")
    top.add_argument("--settings", metavar="SOURCE", help="a TOML file or module:attribute")
    top.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE",
        help="import MODULE first (it may register replayers); repeatable",
    )  # fmt: skip
    commands = top.add_subparsers(title="dlq commands", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="entries, oldest first")
    listing.add_argument("--queue", help="only this queue (dependency) name")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(run=_list)

    show = commands.add_parser("show", help="one entry, its payload redacted")
    show.add_argument("id")
    show.add_argument("--raw", action="store_true", help="show the payload as stored")
    show.set_defaults(run=_show)

    replay = commands.add_parser("replay", help="run entries again through their policy")
    replay.add_argument("ids", nargs="*", metavar="ID")
    replay.add_argument("--all", action="store_true", help="every replayable entry")
    replay.add_argument("--dependency", metavar="NAME", help="every entry of this dependency")
    replay.add_argument("--due", action="store_true", help="only entries whose next try is due")
    replay.set_defaults(run=_replay)

    purge = commands.add_parser("purge", help="remove old entries")
    purge.add_argument(
        "--older-than", type=parse_age, metavar="AGE",
        help="e.g. 3600, 30m, 12h, 7d (default: the retention setting)",
    )  # fmt: skip
    purge.set_defaults(run=_purge)


def parse_age(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` as seconds."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw]?)", text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"expected an age like 3600, 30m, 12h or 7d, got {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


def load_settings(source: str | None) -> Settings:
    """Settings from a TOML file, a ``module:attribute`` (a Settings or a mapping), or the
    environment when ``source`` is ``None``."""
    if source is None:
        return Settings.from_env()
    if source.endswith(".toml"):
        return Settings.from_toml(source)
    module, _, attribute = source.partition(":")
    if not attribute:
        raise SettingsError(
            "(source)", f"expected a .toml file or module:attribute, got {source!r}"
        )
    value = getattr(importlib.import_module(module), attribute)
    return Settings.coerce(value)


def _open(args: argparse.Namespace, *, dependencies: bool = False) -> DeadLetters:
    """The settings' queue; with ``dependencies``, the settings' dependencies become the
    process-wide default, so replays (and the httpx transports they use) follow them."""
    if "" not in sys.path:
        sys.path.insert(0, "")  # as `python -m` does: the app's modules import by name
    for module in args.imports:
        importlib.import_module(module)
    settings = load_settings(args.settings)
    from seawall import dead_letter

    dead_letter.configure(settings)
    if dependencies and (settings.dependencies or settings.correlation.propagate_to):
        from seawall.client.dependencies import Dependencies

        Dependencies(settings)
    return dead_letter.default()


def _time(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")


def _row(entry: Entry) -> list[str]:
    error = entry.last_error.type if entry.last_error else "-"
    state = "yes" if entry.replayable else "no"
    return [
        entry.id,
        entry.queue,
        str(entry.attempts),
        _time(entry.created),
        _time(entry.next_attempt),
        error,
        state,
    ]


def _list(args: argparse.Namespace) -> int:
    queue = _open(args)
    entries = queue.entries(args.queue, args.limit)
    out = sys.stdout
    if args.json:
        for entry in entries:
            out.write(json.dumps(queue.show(entry), separators=(",", ":")) + "\n")
        return 0
    rows = [_row(entry) for entry in entries]
    if out.isatty():
        header = ["ID", "QUEUE", "ATTEMPTS", "CREATED", "NEXT TRY", "LAST ERROR", "REPLAYABLE"]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            out.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
                + "\n"
            )
        out.write(f"{len(rows)} entries\n")
    else:
        for row in rows:
            out.write("\t".join(row) + "\n")
    return 0


def _show(args: argparse.Namespace) -> int:
    queue = _open(args)
    entry = queue.get(args.id)
    if entry is None:
        print(f"seawall dlq: no entry {args.id!r}", file=sys.stderr)
        return 1
    print(json.dumps(queue.show(entry, raw=args.raw), indent=2, default=str))
    return 0


def _replay(args: argparse.Namespace) -> int:
    chosen = sum([bool(args.ids), args.all, args.dependency is not None])
    if chosen != 1:
        print(
            "seawall dlq replay: give entry IDs, --all or --dependency NAME (one of them)",
            file=sys.stderr,
        )
        return 2
    queue = _open(args, dependencies=True)
    report = queue.replay(ids=args.ids or None, queue=args.dependency, due=args.due)
    print(
        f"replayed: {report.succeeded} succeeded, {report.failed} failed, {report.skipped} skipped"
    )
    return 1 if report.failed else 0


def _purge(args: argparse.Namespace) -> int:
    queue = _open(args)
    removed = queue.purge(args.older_than)
    print(f"purged: {removed} entries")
    return 0
