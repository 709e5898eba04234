"""``seawall breakers`` and ``seawall breaker ACTION NAME``: see and steer the breakers.

Against ``--url`` (the admin API of one worker, ``http://host:port/_seawall``; the token from
``--token`` or ``SEAWALL_ADMIN__TOKEN``) or ``--redis`` (the shared state itself, so every
worker on that prefix, running or started later). Over ``--redis`` the list holds the breakers
Redis knows of: those held in an override or open.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from seawall.config.sections.admin import TOKEN_VARIABLE
from seawall.state.messages import Message
from seawall.state.store import RedisStore, Shared, connect

__all__ = ["register"]

VERBS = {
    "force-open": "force_open",
    "close": "close",
    "reset": "reset",
    "disable": "disable",
    "metrics-only": "metrics_only",
}
"""Command-line spellings of the breaker actions."""
COLUMNS = ("name", "state", "calls", "failure_rate", "open_until")


class CommandError(Exception):
    """What went wrong, said in one line on stderr; exit status 1."""


def register(subparsers: Any) -> None:
    """Add ``breakers`` and ``breaker``."""
    listing = subparsers.add_parser("breakers", help="list every breaker and its state")
    _target(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=run_list)
    action = subparsers.add_parser("breaker", help="force open, close or reset one breaker")
    action.add_argument("action", choices=tuple(VERBS), help="what to do")
    action.add_argument("name", help="the breaker's name, e.g. 'GET /items/{id}'")
    _target(action)
    action.set_defaults(run=run_action)


def _target(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the admin API, e.g. http://127.0.0.1:8000/_seawall")
    where.add_argument("--redis", help="the shared state, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--token", help=f"the admin token (default: ${TOKEN_VARIABLE})")
    parser.add_argument("--prefix", default="seawall:", help="state.prefix (with --redis)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (default 5)")


def run_list(args: argparse.Namespace) -> int:
    try:
        rows = _list_api(args) if args.url else _list_redis(args)
    except CommandError as exc:
        print(f"seawall breakers: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(_table(rows))
    return 0


def run_action(args: argparse.Namespace) -> int:
    action = VERBS[args.action]
    try:
        if args.url:
            answer = _api(args, "POST", f"/breakers/{quote(args.name, safe='')}/{action}")
            states = ", ".join(b["state"] for b in answer.get("breakers", []))
        else:
            _redis(args, lambda store: store.send(Message(action, args.name, "cli")))
            states = "sent to every worker"
    except CommandError as exc:
        print(f"seawall breaker: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: {action} ({states})")
    return 0


# -- the admin API ---------------------------------------------------------------------------


def _list_api(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = _api(args, "GET", "/breakers")["breakers"]
    return rows


def _api(args: argparse.Namespace, method: str, path: str) -> dict[str, Any]:
    token = args.token or os.environ.get(TOKEN_VARIABLE)
    request = urllib.request.Request(args.url.rstrip("/") + path, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as answer:
            data: dict[str, Any] = json.loads(answer.read())
            return data
    except urllib.error.HTTPError as exc:
        raise CommandError(f"{exc.code} from {args.url}: {_detail(exc)}") from None
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot reach {args.url}: {exc}") from None


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(exc.read())
    except ValueError:
        return str(exc.reason)
    return str(problem.get("detail") or problem.get("title") or exc.reason)


# -- the shared state ------------------------------------------------------------------------


def _redis(args: argparse.Namespace, use: Any) -> Any:
    """``use(store)`` on the shared state; redis-py's errors become one line."""
    try:
        store = RedisStore(connect(args.redis, args.timeout), args.prefix)
    except ImportError:
        raise CommandError("--redis needs redis-py: pip install seawall[redis]") from None
    except ValueError as exc:
        raise CommandError(f"bad --redis URL: {exc}") from None
    try:
        return use(store)
    except Exception as exc:  # redis-py's ConnectionError, TimeoutError, ResponseError
        raise CommandError(f"cannot use {args.redis}: {exc}") from None
    finally:
        store.client.close()


def _list_redis(args: argparse.Namespace) -> list[dict[str, Any]]:
    shared: Shared = _redis(args, lambda store: store.read())
    names = sorted({*shared.overrides, *shared.opened})
    rows = []
    for name in names:
        until = shared.opened.get(name)
        rows.append(
            {
                "name": name,
                "state": shared.overrides.get(name, "open"),
                "open_until": None if until is None else _utc(until),
            }
        )
    return rows


def _utc(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


def _table(rows: list[dict[str, Any]]) -> str:
    """Aligned columns on a terminal, tab-separated lines when piped (as ``seawall errors``);
    never colour."""
    cells = [[c.upper() for c in COLUMNS]]
    cells += [["" if row.get(c) is None else str(row[c]) for c in COLUMNS] for row in rows]
    if not sys.stdout.isatty():
        return "\n".join("\t".join(line) for line in cells)
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )
