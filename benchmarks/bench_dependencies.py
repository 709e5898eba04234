"""Dependency calls: the decorator's cost beside tenacity and stamina, a rejection, the httpx
transport beside httpx-retries' over the same in-memory transport, and the retry storm.

    python benchmarks/bench_dependencies.py [--number 100000] [--repeat 7] [--rounds 31]

Prints ns per call over a bare call (best of ``--repeat`` rounds; the spread is min..max of the
rounds), with the floor of any rejection beside it: raising and catching an exception. The
transports are timed in ``--rounds`` interleaved rounds (each round times the three in a
rotated order, the garbage collector off), and each row is the median of its per-round
differences: at the transport layer (``handle_request`` around an inner transport that returns
a ready answer, so nearly all the time is the wrapper's) and through ``httpx.Client.send``.
Seawall's transport is timed twice: with the full policy (timeout, bulkhead, breaker, retries
with a budget) and, like for like with httpx-retries' (retries only), with retries and a budget.
Targets (issue 16): success path <= 1.5 us compiled, rejection <= 1 us, transport <= 5 us over
the bare transport and below httpx-retries'; storm attempts <= 1.1 x calls + min_per_second x
elapsed.
"""

from __future__ import annotations

import argparse
import gc
import statistics
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
        "plain": {"hosts": ["api.plain.example"], "retry": {"attempts": 3}},
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
            try:  # noqa: SIM105 (contextlib.suppress costs a third of a rejection)
                fn(i)
            except seawall.CircuitOpenError:
                pass

    return loop


class Plain(Exception):
    pass


def raise_plain(i: int) -> None:
    raise Plain()


def raise_rejection(i: int) -> None:
    raise seawall.CircuitOpenError("down", retry_after=1)


def floor(fn: Callable[[int], object]) -> Loop:
    """The cheapest rejection there is: a call that raises, caught."""

    def loop(number: int) -> None:
        for i in range(number):
            try:  # noqa: SIM105 (the same harness as the rejection rows)
                fn(i)
            except Exception:
                pass

    return loop


class Answer(httpx.BaseTransport):
    """An inner transport that returns one ready answer: the wrapper is all that is timed."""

    def __init__(self) -> None:
        self.response = httpx.Response(200, content=b"ok")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.response


TIMEOUTS = httpx.Timeout(5.0).as_dict()  # httpx.Client's default, a fresh dict per request


def layer_loop(transport: httpx.BaseTransport, host: str) -> Loop:
    request = httpx.Request("GET", f"https://{host}/ok")
    handle = transport.handle_request

    def loop(number: int) -> None:
        for _ in range(number):
            request.extensions = {"timeout": dict(TIMEOUTS)}  # as httpx.Client builds it
            handle(request)

    return loop


def client_loop(transport: httpx.BaseTransport, host: str) -> Loop:
    client = httpx.Client(transport=transport)
    url = f"https://{host}/ok"

    def loop(number: int) -> None:
        for _ in range(number):
            client.get(url)

    return loop


def interleaved(loops: list[Loop], number: int, rounds: int) -> list[list[float]]:
    """ns per call of each loop in each round; rounds rotate the order, GC off while timing."""
    times: list[list[float]] = [[] for _ in loops]
    for r in range(rounds):
        order = list(range(len(loops)))
        order = order[r % len(order) :] + order[: r % len(order)]
        for i in order:
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                loops[i](number)
                times[i].append((time.perf_counter() - t0) / number * 1e9)
            finally:
                gc.enable()
    return times


def paired(name: str, rows: list[float], base: list[float], unit: str = "us") -> str:
    """The median of the per-round differences, with their min..max and the middle half."""
    diff = sorted((x - b) / 1000 for x, b in zip(rows, base, strict=True))
    q1, _, q3 = statistics.quantiles(diff, n=4)
    return (
        f"{name}: {statistics.median(diff):.2f} {unit} (rounds {diff[0]:.2f}..{diff[-1]:.2f},"
        f" middle half {q1:.2f}..{q3:.2f}, {len(diff)} rounds)"
    )


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
    parser.add_argument("--rounds", type=int, default=31)
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
        ("floor: raise and catch an Exception subclass", floor(raise_plain)),
        ("floor: raise and catch CircuitOpenError (made in Python)", floor(raise_rejection)),
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

    from httpx_retries import RetryTransport

    # seawall twice: the full policy (timeout, bulkhead, breaker, retries with a budget) and,
    # like for like with httpx-retries (retries only), a dependency with retries and a budget.
    hosts = ["api.payments.example", "api.payments.example", "api.plain.example", "any.example"]
    for label, make, number in (
        ("transport layer, handle_request", layer_loop, max(1, n // 10)),
        ("httpx.Client.get over MockTransport", client_loop, max(1, n // 200)),
    ):
        inner: httpx.BaseTransport = (
            Answer()
            if make is layer_loop
            else httpx.MockTransport(lambda request: httpx.Response(200, content=b"ok"))
        )
        made = [inner, Transport(inner, dependencies=deps), Transport(inner, dependencies=deps)]
        made.append(RetryTransport(inner))
        loops = [make(t, host) for t, host in zip(made, hosts, strict=True)]
        bare_t, full_t, retry_t, retries_t = interleaved(loops, number, args.rounds)
        print(f"{label}: bare {statistics.median(bare_t) / 1000:.2f} us per request (median)")
        print(paired("  seawall Transport, full policy, over bare", full_t, bare_t))
        print(paired("  seawall Transport, retries only, over bare", retry_t, bare_t))
        print(paired("  httpx-retries RetryTransport over bare", retries_t, bare_t))
        print(paired("  seawall full policy minus httpx-retries", full_t, retries_t))
        print(paired("  seawall retries only minus httpx-retries", retry_t, retries_t))

    for per_second in (10_000, 100):
        attempts, elapsed, bound = storm(10_000, per_second=per_second)
        print(
            f"retry storm, 10000 calls at {per_second}/s: {attempts} attempts in {elapsed:.0f} s"
            f" (bound {bound:.0f}; tenacity and stamina: 30000)"
        )


if __name__ == "__main__":
    main()
