"""``seawall errors [FILE|-]``: the failures of a log grouped by fingerprint, most first.

The fingerprint is the one the in-process analytics computes (exception type, innermost app
frame, route template), so the two agree on the same failures. ``--json`` prints a list of
objects with the keys of :meth:`seawall.analytics.ErrorGroup.as_dict` that a log can give.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from seawall.cli.output import Progress, table
from seawall.cli.source import LogSource, open_log
from seawall.cli.timefmt import parse_timestamp
from seawall.observability.analytics import MAX_ROUTES, SAMPLE_LENGTH, group_id, route_label

__all__ = ["ERROR_EVENTS", "LogGroup", "group_errors", "register", "run"]

ERROR_EVENTS = (b'"request_failed"', b'"response_aborted"')


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser(
        "errors", help="group a log's failures by fingerprint", description=__doc__
    )
    cmd.add_argument("file", nargs="?", default="-", help="a log file, or - for stdin (default)")
    cmd.add_argument("--json", action="store_true", help="a JSON list, for machines")
    cmd.add_argument("--limit", type=int, default=0, help="only the N most frequent groups")
    cmd.set_defaults(run=run)


@dataclass
class LogGroup:
    """One fingerprint's failures as the log tells them."""

    fingerprint: str
    exception: str
    frame: str
    route: str | None
    count: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    routes: list[str] = field(default_factory=list)
    status: int | None = None
    classification: str | None = None
    last_correlation_id: str | None = None
    last_error_id: str | None = None
    sample_message: str = ""
    last_line: int = 0  # where it was last seen, for the order of ties

    def add(self, event: dict[str, Any]) -> None:
        self.count += 1
        stamp = parse_timestamp(event.get("timestamp"))
        if stamp is not None:
            seconds = stamp.timestamp()
            self.first_seen = seconds if self.first_seen is None else min(self.first_seen, seconds)
            self.last_seen = seconds if self.last_seen is None else max(self.last_seen, seconds)
        where = route_label(str(event.get("method", "-")), self.route)
        if where not in self.routes and len(self.routes) < MAX_ROUTES:
            self.routes.append(where)
        self.status = event.get("status", self.status)
        self.classification = event.get("classification", self.classification)
        self.last_correlation_id = event.get("correlation_id")
        self.last_error_id = event.get("error_id")
        if self.count == 1:
            self.sample_message = str(event.get("message", ""))[:SAMPLE_LENGTH]

    def as_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "exception": self.exception,
            "frame": self.frame,
            "route": self.route,
            "routes": self.routes,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "status": self.status,
            "classification": self.classification,
            "last_correlation_id": self.last_correlation_id,
            "last_error_id": self.last_error_id,
            "sample_message": self.sample_message,
        }


def group_errors(source: LogSource, progress: Progress | None = None) -> list[LogGroup]:
    """The error events of ``source`` by fingerprint, most frequent first (ties: the most
    recently seen first, as :meth:`ErrorAnalytics.top` orders them)."""
    groups: dict[str, LogGroup] = {}
    for n, line in enumerate(source.lines()):
        if progress is not None and not (n & 0x3FFF):
            progress.update(source.read_bytes)
        if not any(kind in line for kind in ERROR_EVENTS):
            continue
        event = source.event(line)
        if event is None or event.get("event") not in ("request_failed", "response_aborted"):
            continue
        exception = str(event.get("exception", "-"))
        frame = str(event.get("app_frame") or event.get("fingerprint") or "-")
        route = event.get("route")
        route = route if isinstance(route, str) else None
        key = group_id(exception, frame, route)
        group = groups.get(key)
        if group is None:
            group = groups[key] = LogGroup(key, exception, frame, route)
        group.add(event)
        group.last_line = n
    return sorted(groups.values(), key=lambda g: (g.count, g.last_line), reverse=True)


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    try:
        source = open_log(args.file)
    except OSError as exc:
        print(f"seawall errors: error: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    progress = Progress()
    try:
        groups = group_errors(source, progress)
    finally:
        progress.done()
        source.stream.close()
    if args.limit > 0:
        groups = groups[: args.limit]
    if args.json:
        json.dump([g.as_dict() for g in groups], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    headers = ("COUNT", "FINGERPRINT", "EXCEPTION", "ROUTES", "FIRST SEEN", "LAST SEEN",
               "LAST CORRELATION ID", "SAMPLE MESSAGE")  # fmt: skip
    rows = [
        (g.count, g.fingerprint, g.exception, ", ".join(g.routes), _time(g.first_seen),
         _time(g.last_seen), g.last_correlation_id, g.sample_message)
        for g in groups
    ]  # fmt: skip
    table(headers, rows, sys.stdout)
    return 0
