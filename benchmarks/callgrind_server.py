"""Instructions per request of seawall's stages inside a real uvicorn server, under callgrind.

The in-process harness misses what a server adds to every layer (uvicorn checks and lowers
each response header, runs the app in a task of its own, drives a larger working set), so
this counts the server process itself: uvicorn (httptools, uvloop when installed, as the
peer kit runs it) under valgrind's callgrind, a fixed number of keep-alive requests from a
client in this process, counters zeroed after a warm-up and dumped after the last answer.
Counts repeat within about 0.5% whatever else the machine does.

    python benchmarks/callgrind_server.py                 # every stage
    python benchmarks/callgrind_server.py bare cid full   # some stages
    python benchmarks/callgrind_server.py --cache         # also L1 misses (slower)
    python benchmarks/callgrind_server.py --cycles bare cid full   # caches, branches, cycles
    python benchmarks/callgrind_server.py --inprocess full install   # no server, same apps
                                      # (still noisy: see benchmarks/PROFILE.md, third round)

Stages: the policy stages one by one (``bare`` to ``full``), the adapters (``install``,
``fastapi``, ``fastapi_plain``, ``fastapi_install``), metrics (``*_met``) and a 50-route app
(``*50``): as the kit's seawall variants of the same names (``benchmarks/seawall_variants.py``).

``--cycles`` simulates caches (valgrind's L1 and last-level, the host's sizes) and branch
prediction too, and adds KCachegrind's cycle estimate per request,
``CEst = Ir + 10 * Bm + 10 * L1m + 100 * LLm`` (``Bm``: mispredicted conditional and indirect
branches, ``L1m``: I1 + D1 read + D1 write misses, ``LLm``: the same at the last level), and
each stage's estimate as a ratio of the first stage's (bare: ``CEst(bare) / CEst(stage)``, the
throughput it implies for user-space work). A simulated cache, not a measured one: valgrind
models two levels, and takes the host's last level (on a VM often a huge shared L3) unless
``--ll BYTES`` sets it, e.g. to one core's L2, which shows how much code and data a stage
touches beyond the L1.

Knobs: ``-n`` requests counted (2000), ``-c`` connections (8), ``--warmup`` (400),
``--keep DIR`` keeps the dumps for ``callgrind_annotate``, ``--timeout-resolution`` (1 s
route-timeout buckets under callgrind, where the server runs 50 to 100 times slower: as
many requests share a bucket as share seawall's 20 ms ones at full speed, so the timeout
stages do not count more bucket turnover the slower valgrind runs; ``0``: seawall's own).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

BREAKER = {"failure_rate": 0.99, "minimum_calls": 1_000_000_000}
"""A breaker that counts every call and never opens: its bookkeeping is paid, nothing else."""

EVERY = {"GET /hello": {"breaker": BREAKER, "max_concurrency": 100, "timeout": 5.0}}
"""Every policy on the route the client asks for (as the kit's seawall variants)."""
METRICS = {"metrics": {"enabled": True}}
EXTRA_ROUTES = 48
"""The ``*50`` stages: this many templated routes before ``/hello`` and ``/boom`` (50 in all)."""

STAGES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    # name: (what, how seawall is added, route settings)
    "bare": ("bare Starlette app", "bare", None),
    "header": ("+ one pure-ASGI layer adding a header (the floor)", "header", None),
    "cid": ("seawall correlation stage only", "plain", {}),
    "routes": (
        "+ route table (a policy on another route)",
        "plain",
        {"GET /other": {"timeout": 5.0}},
    ),
    "breaker": ("+ breaker on /hello", "plain", {"GET /hello": {"breaker": BREAKER}}),
    "bulkhead": (
        "+ bulkhead",
        "plain",
        {"GET /hello": {"breaker": BREAKER, "max_concurrency": 100}},
    ),
    "timeout": ("+ timeout: every policy", "plain", EVERY),
    "full": (
        "full stack: every policy + problem mapping inside Starlette (as the kit's sw_stack_nolog)",
        "full",
        EVERY,
    ),
    "full_met": ("full stack + metrics (sw_stack_nolog_met)", "full", {**EVERY, **METRICS}),
    "install": ("starlette.install(): full stack (sw_install)", "install", EVERY),
    "install_met": ("install() + metrics (sw_install_met)", "install", {**EVERY, **METRICS}),
    "bare50": ("bare Starlette app, 50 routes (a_bare_50)", "bare", None),
    "full50": ("full stack, 50 routes", "full", EVERY),
    "full_met50": ("full stack + metrics, 50 routes", "full", {**EVERY, **METRICS}),
    "install50": ("install(), 50 routes (sw_install_50)", "install", EVERY),
    "install_met50": (
        "install() + metrics, 50 routes (sw_install_met_50)",
        "install",
        {**EVERY, **METRICS},
    ),
    "fastapi": ("bare FastAPI app", "bare", None),
    "fastapi_plain": ("FastAPI in the plain middleware (sw_fastapi_plain)", "plain", EVERY),
    "fastapi_install": ("fastapi.install() (sw_fastapi_install)", "install", EVERY),
}


def _settings(stage: str) -> dict[str, Any]:
    routes = dict(STAGES[stage][2] or {})
    metrics = routes.pop("metrics", None)
    return {"routes": routes, **({"metrics": metrics} if metrics else {})}


def build(stage: str) -> Any:
    """The ASGI app of one stage, around the same ``GET /hello`` JSON endpoint."""
    _, how, _ = STAGES[stage]
    fastapi = stage.startswith("fastapi")
    if fastapi:
        app = _fastapi()
    else:
        app = _starlette(stage.endswith("50"), [] if how != "full" else None, stage)
    if how == "bare":
        return app
    if how == "header":
        return _HeaderLayer(app)
    import seawall

    if how == "install":
        if fastapi:
            from seawall.integrations.fastapi import install as install_fastapi

            install_fastapi(app, _settings(stage))
        else:
            from seawall.integrations.starlette import install

            install(app, _settings(stage))
        return app
    if how == "full":
        return app  # the stack was made with the app (_starlette)
    return seawall.ASGIMiddleware(app, settings=_settings(stage))


def _starlette(fifty: bool, middleware: list[Any] | None, stage: str) -> Any:
    """The Starlette app; ``middleware=None``: seawall's full stack around it (problem mapping
    inside Starlette's error layer, as the kit's ``sw_stack_nolog``)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request: Any) -> JSONResponse:
        return JSONResponse({"message": "hello"})

    async def boom(request: Any) -> JSONResponse:
        raise RuntimeError("boom")

    extra = [Route(f"/r{n}/{{id}}", hello) for n in range(EXTRA_ROUTES)] if fifty else []
    routes = [*extra, Route("/hello", hello), Route("/boom", boom)]
    if middleware is not None:
        return Starlette(routes=routes, middleware=middleware)
    import seawall
    from seawall.asgi.middleware import ProblemMiddleware
    from seawall.server.pipeline import Pipeline

    pipeline = Pipeline(_settings(stage))
    inner = Starlette(
        routes=routes,
        middleware=[Middleware(ProblemMiddleware, pipeline=pipeline, adjacent=True)],
    )
    return seawall.ASGIMiddleware(inner, pipeline=pipeline)


def _fastapi() -> Any:
    from fastapi import FastAPI

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("boom")

    return app


class _HeaderLayer:
    """The cheapest layer that touches the response: wraps ``send``, appends one header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-tag", b"1")]
            await send(message)

        await self.app(scope, receive, tagged)


def serve(
    stage: str, port: int, gc_report: str | None = None, timeout_resolution: float | None = None
) -> None:
    """Run one stage in uvicorn on 127.0.0.1 (1 worker, httptools, uvloop if installed);
    with ``gc_report``, count the collector's runs and write them there on ``SIGUSR1``; with
    ``timeout_resolution``, route timeouts in buckets that wide (see :func:`_coarse_timeouts`)."""
    import logging

    import uvicorn

    runs = [0, 0, 0]
    spent = [0.0, 0.0]  # seconds in the collector, start of the current run

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent[1] = time.perf_counter()
        else:
            runs[info["generation"]] += 1
            spent[0] += time.perf_counter() - spent[1]

    def report(signum: int, frame: object) -> None:
        assert gc_report is not None
        found = {"runs": runs, "seconds": spent[0], "tracked": len(gc.get_objects())}
        with open(gc_report + ".part", "w") as file:
            json.dump(found, file)
        os.replace(gc_report + ".part", gc_report)

    if gc_report:
        gc.callbacks.append(watch)
        signal.signal(signal.SIGUSR1, report)

    logging.disable(logging.CRITICAL)
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    config = uvicorn.Config(
        build(stage),
        host="127.0.0.1",
        port=port,
        loop=loop,
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        if timeout_resolution is not None:
            _coarse_timeouts(asyncio.get_running_loop(), timeout_resolution)
        await server.serve()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())


def _coarse_timeouts(loop: asyncio.AbstractEventLoop, resolution: float) -> None:
    """Give the server's loop a timeout scheduler with ``resolution`` s buckets before its
    first request (the one :func:`~seawall.resilience.timeouts.get_scheduler` then finds).

    A request joins the bucket of its deadline; a new bucket costs a set, a heap entry and a
    timer run (about 3,000 instructions). At full speed hundreds of requests share each 20 ms
    bucket; under callgrind, 50 to 100 times slower, most requests would open one, so the
    count would follow valgrind's speed and the machine's load. Buckets as many times wider
    as the server runs slower keep the requests per bucket (and the count) as at full speed.
    """
    from seawall.resilience import timeouts

    timeouts._schedulers[loop] = timeouts.TimeoutScheduler(loop, resolution)


def count_gc(stage: str, args: argparse.Namespace, workdir: str) -> dict[str, int]:
    """The collector's work for ``args.n`` requests to the server running at full speed (no
    valgrind): runs of each generation and objects it tracks at the end."""
    port = _free_port()
    report = os.path.join(workdir, f"{stage}.gc.json")
    command = [sys.executable, __file__, "--serve", stage, "--port", str(port)]
    command += ["--gc-report", report]
    env = dict(os.environ, PYTHONHASHSEED="0")
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port, proc, 60)
        drive(port, args.n, args.c)
        proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 30
        while not os.path.exists(report) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(60)
    with open(report) as file:
        found = json.load(file)
    gen0, gen1, gen2 = found["runs"]
    return {
        "gen0 runs": gen0,
        "gen1 runs": gen1,
        "gen2 runs": gen2,
        "tracked objects": found["tracked"],
        "gc µs/req": round(found["seconds"] * 1e6 / args.n),
    }


async def _connection(port: int, count: int, path: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    try:
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer {head[:40]!r}")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
    finally:
        writer.close()


def drive(port: int, total: int, connections: int, path: str = "/hello") -> None:
    """Send ``total`` requests over ``connections`` keep-alive connections, each waiting for
    its answer before the next, and check every answer is a 200."""

    async def run() -> None:
        share = [total // connections + (i < total % connections) for i in range(connections)]
        await asyncio.gather(*(_connection(port, n, path) for n in share if n))

    asyncio.run(run())


REQUEST_HEADERS = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]


def drive_inprocess(stage: str, total: int) -> None:
    """Call the stage's app ``total`` times with the scope uvicorn builds for ``GET /hello``
    (as the peer kit's in-process harness does: a fresh scope each time, no sockets)."""
    app = build(stage)
    template = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "root_path": "",
        "method": "GET",
        "path": "/hello",
        "raw_path": b"/hello",
        "query_string": b"",
    }
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"unexpected status {message['status']}")

    async def run() -> None:
        loop = asyncio.get_running_loop()
        # Everything made so far (imports, the app) out of the collector's sight: whether a
        # full collection of them falls inside one run or the other would move the per-request
        # difference by thousands of instructions.
        gc.collect()
        gc.freeze()
        for _ in range(total):
            scope = template.copy()
            scope["headers"] = list(REQUEST_HEADERS)
            scope["state"] = {}
            delivered = False

            async def receive() -> Any:
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return request
                await loop.create_future()  # never resolved: the client is still there

            await app(scope, receive, send)

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())


def count_inprocess(stage: str, args: argparse.Namespace) -> dict[str, int]:
    """Instructions per request in process: the difference of two runs (``n`` and ``2n``
    requests) leaves start-up and imports out."""

    def total(requests: int) -> int:
        command = [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, __file__, "--drive", stage, "-n", str(requests),
        ]  # fmt: skip
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(f"no instruction count for {stage}: {done.stderr[-400:]}")
        return int(found.group(1))

    return {"Ir": (total(2 * args.n) - total(args.n)) // args.n}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            drive(port, 1, 1)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server not answering after {seconds:.0f} s")


def count(stage: str, args: argparse.Namespace, workdir: str) -> dict[str, int]:
    """Events per request of one stage: zeroed after the warm-up, dumped after ``args.n``."""
    port = _free_port()
    out = os.path.join(workdir, f"{stage}.%p")
    tool = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if args.cache or args.cycles:
        tool.append("--cache-sim=yes")
    if args.cycles:
        tool.append("--branch-sim=yes")
    if args.ll:
        tool.append(f"--LL={args.ll},8,64")
    if args.dump_instr:
        tool.append("--dump-instr=yes")
    env = dict(os.environ, PYTHONHASHSEED="0")
    command = [*tool, sys.executable, __file__, "--serve", stage, "--port", str(port)]
    resolution = 1.0 if args.timeout_resolution is None else args.timeout_resolution
    if resolution:
        command += ["--timeout-resolution", str(resolution)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port, proc, 600)  # valgrind starts slowly on a loaded machine
        drive(port, args.warmup, args.c)
        control = ["callgrind_control"]
        subprocess.run([*control, "-z", str(proc.pid)], check=True, capture_output=True)
        began = time.monotonic()
        drive(port, args.n, args.c)
        rate = args.n / (time.monotonic() - began)
        subprocess.run([*control, "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.terminate()
        proc.wait(60)
    dump = os.path.join(workdir, f"{stage}.{proc.pid}.1")
    with open(dump) as file:
        text = file.read()
    events = re.search(r"^events: (.*)$", text, re.M)
    summary = re.search(r"^summary: (.*)$", text, re.M)
    if events is None or summary is None:
        raise RuntimeError(f"no summary in {dump}")
    values = [int(v) for v in summary.group(1).split()]
    print(f"{stage}: {rate:,.0f} requests/s under callgrind", file=sys.stderr)
    return {
        name: value // args.n for name, value in zip(events.group(1).split(), values, strict=True)
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="*", help=f"default: all of {', '.join(STAGES)}")
    parser.add_argument("-n", type=int, default=2000, help="requests counted")
    parser.add_argument("-c", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--cache", action="store_true", help="simulate caches: L1 misses too")
    parser.add_argument(
        "--cycles", action="store_true", help="simulate caches and branches: cycle estimate"
    )
    parser.add_argument(
        "--ll",
        type=int,
        metavar="BYTES",
        help="last-level cache size to simulate (8-way; e.g. 1048576, one core's L2)",
    )
    parser.add_argument(
        "--dump-instr", action="store_true", help="per-instruction counts in the dumps (--keep)"
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the dumps there (callgrind_annotate)")
    parser.add_argument(
        "--inprocess", action="store_true", help="no server: call the app in process (n and 2n)"
    )
    parser.add_argument(
        "--gc", action="store_true", help="no valgrind: the collector's runs for n requests"
    )
    parser.add_argument(
        "--timeout-resolution",
        type=float,
        metavar="SECONDS",
        help="route timeout buckets under callgrind (default 1.0; 0: seawall's own 20 ms)",
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--gc-report", help=argparse.SUPPRESS)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.serve:
        serve(args.serve, args.port, args.gc_report, args.timeout_resolution or None)
        return
    if args.drive:
        logging.disable(logging.CRITICAL)
        drive_inprocess(args.drive, args.n)
        return
    for tool in () if args.gc else ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            sys.exit(f"callgrind_server.py: needs {tool} (apt-get install valgrind)")
    stages = args.stages or list(STAGES)
    unknown = set(stages) - set(STAGES)
    if unknown:
        sys.exit(f"unknown stage(s) {sorted(unknown)}; known: {', '.join(STAGES)}")
    import seawall

    where = os.path.dirname(seawall.__file__)
    if args.inprocess:
        print(f"in process under callgrind (uvicorn's scope, {args.n} and {2 * args.n} requests)")
        print(f"seawall from {where}")
        rows = [(stage, count_inprocess(stage, args)) for stage in stages]
        _print(rows, lambda stage: STAGES[stage][0])
        return
    if args.gc:
        print(f"uvicorn at full speed, seawall from {where}: {args.n} requests, {args.c} conns")
        with tempfile.TemporaryDirectory(prefix="seawall-gc-") as workdir:
            rows = [(stage, count_gc(stage, args, workdir)) for stage in stages]
        _print_table(rows)
        return
    print(f"uvicorn under callgrind, seawall from {where}")
    print(f"{args.n} requests over {args.c} keep-alive connections after {args.warmup} warm-up")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        rows = [(stage, count(stage, args, args.keep)) for stage in stages]
    else:
        with tempfile.TemporaryDirectory(prefix="seawall-cg-") as workdir:
            rows = [(stage, count(stage, args, workdir)) for stage in stages]
    _print(rows, lambda stage: STAGES[stage][0])
    if args.cycles:
        _print_cycles(rows)


MISS_WEIGHTS = {"L1m": 10, "LLm": 100, "Bm": 10}
"""KCachegrind's cycle estimate: ``CEst = Ir + 10 Bm + 10 L1m + 100 LLm``."""


def cycle_estimate(events: dict[str, int]) -> dict[str, int]:
    """Misses by level and the cycle estimate from one stage's callgrind events (per request)."""

    def total(*names: str) -> int:
        return sum(events.get(name, 0) for name in names)

    derived = {
        "Ir": events["Ir"],
        "L1m": total("I1mr", "D1mr", "D1mw"),
        "LLm": total("ILmr", "DLmr", "DLmw"),
        "Bm": total("Bcm", "Bim"),
    }
    derived["CEst"] = derived["Ir"] + sum(derived[k] * w for k, w in MISS_WEIGHTS.items())
    return derived


def _print_cycles(rows: list[tuple[str, dict[str, int]]]) -> None:
    estimates = [(stage, cycle_estimate(events)) for stage, events in rows]
    base_stage, base = estimates[0]
    print("\ncycle estimate per request: CEst = Ir + 10 Bm + 10 L1m + 100 LLm")
    print(f"| stage | Ir | L1m | LLm | Bm | CEst | CEst added | {base_stage} / stage |")
    print("|---|" + "---:|" * 7)
    for stage, est in estimates:
        cells = " | ".join(f"{est[k]:,}" for k in ("Ir", "L1m", "LLm", "Bm", "CEst"))
        ratio = base["CEst"] / est["CEst"]
        print(f"| {stage} | {cells} | {est['CEst'] - base['CEst']:+,} | {ratio:.3f} |")


def _print_table(rows: list[tuple[str, dict[str, int]]]) -> None:
    names = list(rows[0][1])
    print(f"\n| stage | {' | '.join(names)} |")
    print("|---|" + "---:|" * len(names))
    for stage, values in rows:
        print(f"| {stage} | {' | '.join(f'{values[n]:,}' for n in names)} |")


def _print(rows: list[tuple[str, dict[str, int]]], describe: Callable[[str], str]) -> None:
    names = list(rows[0][1])
    base = rows[0][1]
    head = " | ".join(f"{n}/req" for n in names)
    print(f"\n| stage | what | {head} | Ir added vs {rows[0][0]} |")
    print("|---|---|" + "---:|" * (len(names) + 1))
    for stage, events in rows:
        cells = " | ".join(f"{events[n]:,}" for n in names)
        print(f"| {stage} | {describe(stage)} | {cells} | {events['Ir'] - base['Ir']:+,} |")


if __name__ == "__main__":
    main()
