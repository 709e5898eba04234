"""``seawall logs [FILE|-]``: seawall's JSON log lines, filtered, one request's lines together.

Lines render with structlog's console renderer (colours on a terminal only), or unchanged with
``--json``. Without ``--follow``, the lines of one correlation id come out together, in order,
where its first line was; ``--follow`` then prints new matching lines as they are written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from seawall.cli.output import Progress, colour
from seawall.cli.source import LogSource, open_log
from seawall.cli.timefmt import parse_since, parse_timestamp
from seawall.errors.event import PRE_REDACTED

__all__ = ["LEVELS", "LineFilter", "register", "run"]

LEVELS = ("debug", "info", "warning", "error", "critical")
MAX_HELD = 100_000
"""Lines held back to group them by request; past it the oldest request is printed early."""


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser(
        "logs", help="render and filter seawall's JSON logs", description=__doc__
    )
    cmd.add_argument("file", nargs="?", default="-", help="a log file, or - for stdin (default)")
    cmd.add_argument("--correlation-id", help="only the lines of this correlation id")
    cmd.add_argument("--error-id", help="only the lines carrying this error id")
    cmd.add_argument("--route", help='only this route template, e.g. "GET /orders/{id}"')
    cmd.add_argument("--level", choices=LEVELS, help="only lines at this level or above")
    cmd.add_argument("--since", help="only lines from this time on: ISO 8601, or 90s, 15m, 2h, 1d")
    cmd.add_argument("-f", "--follow", action="store_true", help="keep reading as the file grows")
    cmd.add_argument("--json", action="store_true", help="print matching lines as JSON, unchanged")
    cmd.set_defaults(run=run)


class LineFilter:
    """The filters of one run; :meth:`quick` rejects most lines before JSON is parsed."""

    def __init__(
        self,
        *,
        correlation_id: str | None = None,
        error_id: str | None = None,
        route: str | None = None,
        level: str | None = None,
        since: datetime | None = None,
    ) -> None:
        self.fields = {
            k: v
            for k, v in (
                ("correlation_id", correlation_id),
                ("error_id", error_id),
                ("route", route),
            )
            if v is not None
        }
        # the JSON text of each wanted value must occur in a matching line
        self._needles = [json.dumps(v).encode() for v in self.fields.values()]
        self.min_level = LEVELS.index(level) if level else 0
        self.since = since

    def quick(self, line: bytes) -> bool:
        return all(needle in line for needle in self._needles)

    def __call__(self, event: dict[str, Any]) -> bool:
        for key, wanted in self.fields.items():
            if event.get(key) != wanted:
                return False
        if self.min_level:
            level = str(event.get("level", "")).lower()
            if level not in LEVELS or LEVELS.index(level) < self.min_level:
                return False
        if self.since is not None:
            stamp = parse_timestamp(event.get("timestamp"))
            if stamp is None or stamp < self.since:
                return False
        return True


def renderer(args: argparse.Namespace) -> Callable[[dict[str, Any]], str]:
    """How a matching event is printed: unchanged JSON, or the console renderer's line."""
    if args.json:
        return json.dumps
    console = structlog.dev.ConsoleRenderer(
        colors=colour(sys.stdout), exception_formatter=structlog.dev.plain_traceback
    )

    def render(event: dict[str, Any]) -> str:
        event.pop(PRE_REDACTED, None)
        event.setdefault("event", "")
        text: str = console(None, "", event)
        return text

    return render


class Held:
    """Matching lines held back by request (correlation id), oldest request first."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.requests: OrderedDict[object, list[str]] = OrderedDict()
        self.count = 0
        self._anonymous = 0

    def add(self, event: dict[str, Any], text: str) -> None:
        key: object = event.get("correlation_id")
        if not isinstance(key, str):
            self._anonymous += 1
            key = self._anonymous  # a line of no request stands alone, in its place
        self.requests.setdefault(key, []).append(text)
        self.count += 1
        while self.count > MAX_HELD:
            _, lines = self.requests.popitem(last=False)
            self.count -= len(lines)
            for line in lines:
                self.write(line)

    def flush(self) -> None:
        for lines in self.requests.values():
            for line in lines:
                self.write(line)
        self.requests.clear()
        self.count = 0


def run(args: argparse.Namespace) -> int:
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        print(f"seawall logs: error: --since: {exc}", file=sys.stderr)
        return 2
    try:
        source = open_log(args.file, follow=args.follow)
    except OSError as exc:
        print(f"seawall logs: error: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    wanted = LineFilter(
        correlation_id=args.correlation_id,
        error_id=args.error_id,
        route=args.route,
        level=args.level,
        since=since,
    )
    try:
        show(source, wanted, renderer(args))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `seawall logs app.log | head`
        sys.stderr.close()
        return 0
    finally:
        source.stream.close()
    return 0


def show(source: LogSource, wanted: LineFilter, render: Callable[[dict[str, Any]], str]) -> None:
    """Print the matching lines of ``source``: grouped until caught up, then as they come."""
    out = sys.stdout

    def write(text: str) -> None:
        out.write(text + "\n")

    held = Held(write)
    progress = Progress()
    live = False

    def caught_up() -> None:
        nonlocal live
        held.flush()
        progress.done()
        out.flush()
        live = True

    source.on_caught_up = caught_up
    for n, line in enumerate(source.lines()):
        if not (n & 0x3FFF):
            progress.update(source.read_bytes)
        if not wanted.quick(line):
            continue
        event = source.event(line)
        if event is None or not wanted(event):
            continue
        if live:
            write(render(event))
            out.flush()
        else:
            held.add(event, render(event))
    held.flush()
    progress.done()
