"""Latency while Redis dies: the redis backend with Redis killed mid-run beside the memory backend.

    python benchmarks/state_outage.py [--server uvicorn|gunicorn] [--rounds 3] [--seconds 4]

Starts ``redis-server`` and ``examples/shared_state_app.py`` under 3 workers on 127.0.0.1, runs
8 concurrent clients for ``--seconds`` per round against ``/flaky`` and, with the redis backend,
kills Redis halfway. Prints p50 / p99 / max (ms) per round for each backend, and failed requests.
Issue 18: no request fails or waits because of Redis (p99 within the noise of memory's).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))

import httpx

from examples.servers import BIN, free_port, serve, uvicorn_argv

APP = "examples.shared_state_app"


def server_argv(kind: str, port: int) -> list[str]:
    if kind == "uvicorn":
        return uvicorn_argv(f"{APP}:asgi", port, "--workers", "3")
    return [
        str(BIN / "gunicorn"), f"{APP}:app", "--bind", f"127.0.0.1:{port}", "--workers", "3",
        "--threads", "16", "--worker-class", "gthread",
    ]  # fmt: skip


async def load(base: str, stop: float, out: list[float], failed: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        while time.monotonic() < stop:
            started = time.monotonic()
            answer = await client.get("/flaky")
            out.append(time.monotonic() - started)
            if answer.status_code != 200:
                failed.append(answer.status_code)


async def measure(
    base: str, seconds: float, kill: Callable[[], None] | None
) -> tuple[list[float], list[int]]:
    out: list[float] = []
    failed: list[int] = []
    stop = time.monotonic() + seconds
    tasks = [asyncio.create_task(load(base, stop, out, failed)) for _ in range(8)]
    await asyncio.sleep(seconds / 2)
    if kill is not None:
        kill()
    await asyncio.gather(*tasks)
    return sorted(out), failed


def one(kind: str, backend: str, seconds: float, redis_server: str) -> str:
    with tempfile.TemporaryDirectory() as directory:
        redis_port, port = free_port(), free_port()
        argv = [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
        with serve([*argv, "--dir", directory], redis_port, Path(directory) / "redis.log") as redis:
            env = {
                "SEAWALL_STATE__BACKEND": backend,
                "SEAWALL_STATE__URL": f"redis://127.0.0.1:{redis_port}/0",
            }
            log = Path(directory) / "server.log"
            with serve(server_argv(kind, port), port, log, env) as server:
                time.sleep(2.0)  # workers up and connected
                kill = redis.process.kill if backend == "redis" else None
                out, failed = asyncio.run(measure(server.base_url, seconds, kill))
    p50, p99 = out[len(out) // 2], out[int(len(out) * 0.99)]
    return (
        f"{backend:6} n={len(out):5}  p50 {p50 * 1000:6.1f}  p99 {p99 * 1000:6.1f}  "
        f"max {out[-1] * 1000:6.1f} ms  failed {len(failed)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("uvicorn", "gunicorn"), default="uvicorn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("redis-server is not installed: apt-get install redis-server")
        return
    for n in range(args.rounds):
        for backend in ("memory", "redis") if n % 2 == 0 else ("redis", "memory"):
            result = one(args.server, backend, args.seconds, redis_server)
            print(f"round {n + 1}: {result}", flush=True)


if __name__ == "__main__":
    main()
