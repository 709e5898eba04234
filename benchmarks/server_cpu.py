"""The server's CPU time per request under wrk, variant by variant, in interleaved rounds.

Throughput mixes the server's work with wrk's share of the two cores; the server's own user and
system time (``/proc/PID/stat``) over a wrk run, divided by the requests answered, does not.
Each variant runs in a uvicorn process of its own (the kit's ``serve_asgi.py``), so a variant
written ``NAME@DIR`` imports seawall from the build in ``DIR`` (for instance two compiled builds
made with different options) and the others from ``PYTHONPATH``.

    PYTHONPATH=.build/compiled .venv/bin/python benchmarks/server_cpu.py \\
        --rounds 10 --duration 3 a_bare sw_cid_only sw_stack_nolog sw_stack_nolog_pure

Targets 127.0.0.1 only; every wrk run is bounded by ``-d``; the servers are stopped by PID.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KIT = os.path.join(os.path.dirname(ROOT), "shared", "bench-peers")
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One variant's uvicorn process and what its rounds measured."""

    spec: str
    port: int
    process: subprocess.Popen[bytes]
    rounds: list[tuple[int, float, float]] = field(default_factory=list)  # requests, user, sys

    def cpu(self) -> tuple[float, float]:
        """User and system seconds the process has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def start(spec: str, port: int, kit: str) -> Server:
    name, _, build = spec.partition("@")
    env = dict(os.environ)
    if build:
        env["PYTHONPATH"] = build
    command = [sys.executable, os.path.join(kit, "serve_asgi.py"), name, "--port", str(port)]
    command += ["--extra", os.path.join(ROOT, "benchmarks", "seawall_variants.py")]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return Server(spec, port, process)


def wait_ready(server: Server, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/hello", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise SystemExit(
                    f"server_cpu: {server.spec} did not start on {server.port}"
                ) from None
            time.sleep(0.2)


def load(server: Server, seconds: int, connections: int) -> tuple[int, float, float]:
    """One wrk run: requests answered and the server's user and system seconds meanwhile."""
    user, system = server.cpu()
    url = f"http://127.0.0.1:{server.port}/hello"
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    after_user, after_system = server.cpu()
    found = re.search(r"(\d+) requests in", output)
    if found is None:
        raise SystemExit(f"server_cpu: no request count in wrk's output for {server.spec}")
    return int(found.group(1)), after_user - user, after_system - system


def report(servers: list[Server]) -> None:
    base = servers[0]
    print("| variant | CPU µs/request | user | sys | base CPU / this (paired rounds) |")
    print("|---|---:|---:|---:|---:|")
    for server in servers:
        per = [(u + s) / n * 1e6 for n, u, s in server.rounds]
        users = [u / n * 1e6 for n, u, _ in server.rounds]
        systems = [s / n * 1e6 for n, _, s in server.rounds]
        base_per = [(u + s) / n * 1e6 for n, u, s in base.rounds]
        ratios = [b / p for b, p in zip(base_per, per, strict=True)]
        print(
            f"| {server.spec} | {statistics.median(per):.1f} ({min(per):.1f}..{max(per):.1f}) "
            f"| {statistics.median(users):.1f} | {statistics.median(systems):.1f} "
            f"| {statistics.median(ratios):.3f} ({min(ratios):.3f}..{max(ratios):.3f}) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", help="kit or seawall variants, NAME or NAME@BUILD")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--port", type=int, default=18400, help="first port; one per variant")
    parser.add_argument("--kit", default=KIT, help="the peer benchmark kit's directory")
    args = parser.parse_args()
    servers = [start(spec, args.port + i, args.kit) for i, spec in enumerate(args.variants)]
    try:
        for server in servers:
            wait_ready(server)
            load(server, 2, args.connections)  # warm-up, not counted
        for round_ in range(args.rounds):
            shift = round_ % len(servers)  # each variant takes every place in the order
            for server in servers[shift:] + servers[:shift]:
                server.rounds.append(load(server, args.duration, args.connections))
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            server.process.wait(timeout=10)
    print(
        f"uvicorn 1 worker per variant, wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} rounds; medians (min..max)"
    )
    report(servers)


if __name__ == "__main__":
    main()
