"""Closed-path cost with shared state on Redis beside the memory backend, interleaved.

    python benchmarks/bench_state.py [--number 20000] [--rounds 7] [--only memory|redis]

Starts its own ``redis-server`` on 127.0.0.1 (Debian package ``redis-server``). Each round runs
``--number`` requests through the WSGI middleware on a route with a breaker, once per backend,
the order alternating, and prints µs per request per round, the median of each and the Redis commands
the redis rounds sent, by command (the background pings only: goal 0 per request, issue 18).
``--only`` runs one backend once, silently, for instruction counts: under callgrind the
difference of two ``--number`` values divided by their difference is per request, whatever the
load (``benchmarks/instructions.sh`` does this for the ASGI stacks).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parent.parent))  # an installed or compiled build wins

import redis

from examples.servers import free_port, serve
from seawall.wsgi.middleware import WSGIMiddleware

ROUTE = "GET /items/{id}"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def middleware(state: dict[str, Any]) -> WSGIMiddleware:
    routes = {ROUTE: {"breaker": {"minimum_calls": 20}}}
    return WSGIMiddleware(app, settings={"state": state, "routes": routes})


def run(stack: WSGIMiddleware, number: int) -> float:
    """Seconds per request over ``number`` requests."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/items/7", "QUERY_STRING": ""}

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
        return None

    started = time.perf_counter()
    for _ in range(number):
        body = stack(dict(environ), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - started) / number


def commands(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", choices=("memory", "redis"))
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not installed: apt-get install redis-server")
        return
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        argv = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            directory,
        ]
        with serve(argv, port, Path(directory) / "redis.log"):
            url = f"redis://127.0.0.1:{port}/0"
            if args.only is not None:
                stack = middleware({"backend": args.only, "url": url})
                time.sleep(1.0)
                run(stack, args.number)
                stack.pipeline.state.close()
                return
            memory = middleware({"backend": "memory"})
            shared = middleware({"backend": "redis", "url": url})
            client = redis.Redis(port=port)
            time.sleep(1.0)  # the shared backend connects and reads Redis once
            rows: dict[str, list[float]] = {"memory": [], "redis": []}
            sent: dict[str, int] = {}
            for round_ in range(args.rounds):
                if round_ % 2:  # alternate which goes first
                    rows["memory"].append(run(memory, args.number))
                before = commands(client)
                rows["redis"].append(run(shared, args.number))
                after = commands(client)
                if not round_ % 2:
                    rows["memory"].append(run(memory, args.number))
                for name, calls in after.items():
                    grown = calls - before.get(name, 0) - (name == "info")
                    if grown:
                        sent[name] = sent.get(name, 0) + grown
            shared.pipeline.state.close()
            client.close()
    total = args.rounds * args.number
    for name, values in rows.items():
        shown = " ".join(f"{v * 1e6:.2f}" for v in values)
        median = statistics.median(values) * 1e6
        print(f"{name:7} µs/request per round: {shown}   median {median:.2f}")
    ratio = statistics.median(rows["redis"]) / statistics.median(rows["memory"])
    print(f"redis / memory (medians): {ratio:.3f}")
    print(f"Redis commands during {total} redis-backend requests: {sent or 'none'}")


if __name__ == "__main__":
    main()
