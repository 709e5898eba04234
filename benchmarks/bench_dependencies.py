"""Dependency calls: the decorator's cost beside tenacity and stamina, a rejection, the httpx
transport beside httpx-retries' over the same in-memory transport, and the retry storm.

    python benchmarks/bench_dependencies.py [--number 100000] [--repeat 7]

Prints ns per call over a bare call (best of ``--repeat`` rounds; the spread is min..max of the
rounds; the transports' rounds are interleaved) and the retry storm's attempts. Targets (issue
16): success path <= 1.5 us compiled, rejection <= 1 us, transport <= 5 us over the bare
transport; storm attempts <= 1.1 x calls + min_per_second x elapsed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # an installed or compiled build wins

import contextlib

import httpx
import stamina  # the peers come with the "bench" extra
import tenacity

import seawall
from seawall.clock import FakeClock
from seawall.integrations.httpx import Transport

Loop = Callable[[int], None]

SETTINGS = {
    "dependencies": {
        "payments": {
            "hosts": ["api.payments.example"],
            "timeout": 2.0,
            "max_concurrency": 10,
            "breaker": {"minimum_calls": 20},
            "retry": {"attempts": 3, "budget": {"ratio": 0.1, "min_per_second": 5}},
        },
        "plain": {"retry": {"attempts": 3}},
        "down": {"breaker": True},
    }
}


def work(x: int) -> int:
    return x


def timed(loop: Loop, number: int, repeat: int) -> list[float]:
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        loop(number)
        rounds.append((time.perf_counter() - t0) / number * 1e9)
    return rounds


def calls(fn: Callable[[int], object]) -> Loop:
    def loop(number: int) -> None:
        for i in range(number):
            fn(i)

    return loop


def rejections(fn: Callable[[int], object]) -> Loop:
    def loop(number: int) -> None:
        for i in range(number):
            with contextlib.suppress(seawall.CircuitOpenError):
                fn(i)

    return loop


def transport_loop(client: httpx.Client) -> Loop:
    def loop(number: int) -> None:
        for _ in range(number):
            client.get("https://api.payments.example/ok")

    return loop


def storm(calls_made: int, *, per_second: int) -> tuple[int, float, float]:
    """A dependency that always fails transiently, called ``per_second`` times a second on a
    fake clock: (attempts, elapsed seconds, the bound)."""
    clock = FakeClock(1000.0)
    deps = seawall.Dependencies(
        {"dependencies": {"dead": {"retry": {"attempts": 3, "backoff": 0.0,
                                             "budget": {"ratio": 0.1, "min_per_second": 5}}}}},
        clock=clock, sleep=clock.advance, activate=False,
    )  # fmt: skip
    dead = deps["dead"]
    attempts = 0

    def fail() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("down")

    start = clock()
    for _ in range(calls_made):
        clock.advance(1.0 / per_second)
        with contextlib.suppress(ConnectionError):
            dead.call(fail)
    elapsed = clock() - start
    return attempts, elapsed, 1.1 * calls_made + 5 * elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--number", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n, r = args.number, args.repeat

    deps = seawall.Dependencies(SETTINGS)
    payments = seawall.dependency("payments")(work)
    plain = seawall.dependency("plain")(work)
    deps["down"].breaker.force_open()  # type: ignore[union-attr]
    down = seawall.dependency("down")(work)
    tenacity_work = tenacity.retry(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_exponential_jitter(0.1, 2.0),
        retry=tenacity.retry_if_exception_type(ConnectionError),
    )(work)
    stamina_work = stamina.retry(on=ConnectionError, attempts=3)(work)

    bare = min(timed(calls(work), n, r))
    print(f"compiled: {seawall.resilience.engine.__file__.endswith('.so')}")
    print(f"bare call: {bare:.0f} ns")
    rows = [
        ("seawall decorator, full policy (timeout, bulkhead, breaker, retry)", calls(payments)),
        ("seawall decorator, retry only", calls(plain)),
        ("seawall rejection (breaker open, CircuitOpenError caught)", rejections(down)),
        ("tenacity retry (3 attempts)", calls(tenacity_work)),
        ("stamina retry (3 attempts)", calls(stamina_work)),
    ]
    for name, loop in rows:
        rounds = [x - bare for x in timed(loop, n, r)]
        print(
            f"{name}: {min(rounds):.0f} ns over bare (rounds {min(rounds):.0f}..{max(rounds):.0f})"
        )

    ok = httpx.MockTransport(lambda request: httpx.Response(200, content=b"ok"))
    from httpx_retries import RetryTransport

    clients = [
        ("httpx, bare MockTransport", httpx.Client(transport=ok)),
        ("httpx, seawall Transport", httpx.Client(transport=Transport(ok, dependencies=deps))),
        ("httpx, httpx-retries RetryTransport", httpx.Client(transport=RetryTransport(ok))),
    ]
    # Interleaved: each round times every client once, so the machine's load drifts over all
    # of them alike; a row's figure is its best round over the bare transport's in that round.
    tn = max(1, n // 10)
    rounds: dict[str, list[float]] = {name: [] for name, _ in clients}
    for _ in range(r):
        for name, client in clients:
            rounds[name].extend(timed(transport_loop(client), tn, 1))
    bare_rounds = rounds[clients[0][0]]
    print(f"{clients[0][0]}: {min(bare_rounds) / 1000:.1f} us per request")
    for name, _ in clients[1:]:
        over = [x - b for x, b in zip(rounds[name], bare_rounds, strict=True)]
        print(f"{name}: {min(over) / 1000:.2f} us over bare (rounds"
              f" {min(over) / 1000:.2f}..{max(over) / 1000:.2f}, interleaved)")  # fmt: skip

    for per_second in (10_000, 100):
        attempts, elapsed, bound = storm(10_000, per_second=per_second)
        print(
            f"retry storm, 10000 calls at {per_second}/s: {attempts} attempts in {elapsed:.0f} s"
            f" (bound {bound:.0f}; tenacity and stamina: 30000)"
        )


if __name__ == "__main__":
    main()
