"""Circuit breaker overhead: seawall beside pybreaker and circuitbreaker, in one run.

    python benchmarks/bench_breaker.py [--number 200000] [--repeat 7] [--rejections 1000000]

Prints ns per operation (best of ``--repeat`` rounds, loop overhead included, the same for
every row) and a memory check: traced memory before and after a million rejections.
Targets (issue #5): closed acquire()+success() <= 400 ns, try_acquire() rejection <= 300 ns.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # an installed or compiled build wins

import circuitbreaker  # the peers come with the "bench" extra
import pybreaker

from seawall.config.schema import BreakerSettings
from seawall.errors.exceptions import CircuitOpenError
from seawall.resilience.breaker import CircuitBreaker

Loop = Callable[[int], None]


def noop() -> None:
    return None


# -- the measured loops: one function per row, locals bound outside the loop ----------------


def bare_call(number: int) -> None:
    fn = noop
    for _ in range(number):
        fn()


def seawall_closed(settings: BreakerSettings) -> Loop:
    acquire = CircuitBreaker("bench", settings).acquire

    def loop(number: int) -> None:
        for _ in range(number):
            permit = acquire()
            permit.success()

    return loop


def seawall_closed_try(settings: BreakerSettings) -> Loop:
    try_acquire = CircuitBreaker("bench", settings).try_acquire

    def loop(number: int) -> None:
        for _ in range(number):
            permit = try_acquire()
            if permit is not None:
                permit.success(0.001)

    return loop


def seawall_closed_call() -> Loop:
    call = CircuitBreaker("bench").call

    def loop(number: int) -> None:
        for _ in range(number):
            call(noop)

    return loop


def open_seawall() -> CircuitBreaker:
    breaker = CircuitBreaker("bench", BreakerSettings(open_for=1e9, max_open_for=1e9))
    while breaker.try_acquire() is not None:
        breaker.acquire().failure()
    return breaker


def seawall_reject_try() -> Loop:
    try_acquire = open_seawall().try_acquire

    def loop(number: int) -> None:
        for _ in range(number):
            try_acquire()

    return loop


def seawall_reject_raise() -> Loop:
    acquire = open_seawall().acquire

    def loop(number: int) -> None:
        for _ in range(number):
            try:  # noqa: SIM105  (contextlib.suppress would cost more than the rejection)
                acquire()
            except CircuitOpenError:
                pass

    return loop


def seawall_reject_call() -> Loop:
    call = open_seawall().call

    def loop(number: int) -> None:
        for _ in range(number):
            try:  # noqa: SIM105
                call(noop)
            except CircuitOpenError:
                pass

    return loop


def pybreaker_closed() -> Loop:
    call = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60).call

    def loop(number: int) -> None:
        for _ in range(number):
            call(noop)

    return loop


def pybreaker_reject() -> Loop:
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=1e9)
    breaker.open()
    call, error = breaker.call, pybreaker.CircuitBreakerError

    def loop(number: int) -> None:
        for _ in range(number):
            try:  # noqa: SIM105
                call(noop)
            except error:
                pass

    return loop


def circuitbreaker_closed() -> Loop:
    # circuitbreaker checks its state only in the decorator (its call() never rejects).
    guarded = circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=60)(noop)

    def loop(number: int) -> None:
        for _ in range(number):
            guarded()

    return loop


def circuitbreaker_reject() -> Loop:
    breaker = circuitbreaker.CircuitBreaker(failure_threshold=1, recovery_timeout=10**9)

    def down() -> None:
        raise OSError("down")

    fail = breaker(down)

    with contextlib.suppress(OSError):
        fail()
    guarded, error = breaker(noop), circuitbreaker.CircuitBreakerError

    def loop(number: int) -> None:
        for _ in range(number):
            try:  # noqa: SIM105
                guarded()
            except error:
                pass

    return loop


def seawall_decorated_closed() -> Loop:
    guarded = CircuitBreaker("bench")(noop)

    def loop(number: int) -> None:
        for _ in range(number):
            guarded()

    return loop


# -- measurement -------------------------------------------------------------------------------


def ns_per_op(loop: Loop, number: int, repeat: int) -> float:
    loop(min(number, 10_000))  # warm up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        loop(number)
        best = min(best, (time.perf_counter_ns() - start) / number)
    return best


def retained_bytes(loop: Loop, count: int) -> tuple[int, int]:
    """Traced bytes still held after ``count`` operations, and the peak above the start."""
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    loop(count)
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return after - before, peak - before


def rows() -> list[tuple[str, str, Callable[[], Loop], float | None]]:
    """(library, operation, loop factory, target ns or None)."""
    time_window = BreakerSettings()
    count_window = BreakerSettings(window_type="count", window=100)
    table: list[tuple[str, str, Callable[[], Loop], float | None]] = [
        ("(none)", "bare fn() call", lambda: bare_call, None),
        ("seawall", "closed acquire()+success(), time window", lambda: seawall_closed(time_window), 400),
        ("seawall", "closed acquire()+success(), count window", lambda: seawall_closed(count_window), 400),
        ("seawall", "closed try_acquire()+success(d)", lambda: seawall_closed_try(time_window), 400),
        ("seawall", "closed call(fn)", seawall_closed_call, None),
        ("seawall", "closed @decorated fn()", seawall_decorated_closed, None),
        ("seawall", "rejection try_acquire() -> None", seawall_reject_try, 300),
        ("seawall", "rejection acquire() raises", seawall_reject_raise, None),
        ("seawall", "rejection call(fn) raises", seawall_reject_call, None),
        ("pybreaker", "closed call(fn)", pybreaker_closed, None),
        ("pybreaker", "rejection call(fn) raises", pybreaker_reject, None),
        ("circuitbreaker", "closed @decorated fn()", circuitbreaker_closed, None),
        ("circuitbreaker", "rejection @decorated fn() raises", circuitbreaker_reject, None),
    ]  # fmt: skip
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000, help="operations per round")
    parser.add_argument("--repeat", type=int, default=7, help="rounds; the best one counts")
    parser.add_argument("--rejections", type=int, default=1_000_000, help="for the memory check")
    args = parser.parse_args()

    import seawall.resilience.breaker

    build = (
        "compiled"
        if Path(seawall.resilience.breaker.__file__ or "").suffix == ".so"
        else "pure-Python"
    )
    print(
        f"Python {sys.version.split()[0]}, seawall {build} build, {args.number} ops x {args.repeat} rounds, best round"
    )
    print(f"{'library':<15} {'operation':<44} {'ns/op':>8} {'target':>8}")
    missed = []
    for library, operation, factory, target in rows():
        value = ns_per_op(factory(), args.number, args.repeat)
        verdict = "" if target is None else (f"<= {target}" if value <= target else "MISSED")
        if target is not None and value > target:
            missed.append(operation)
        print(f"{library:<15} {operation:<44} {value:>8.0f} {verdict:>8}")

    print(f"\nMemory over {args.rejections:,} rejections (tracemalloc, after gc):")
    memory_rows = [
        ("seawall try_acquire()", seawall_reject_try),
        ("seawall acquire() raises", seawall_reject_raise),
        ("pybreaker call(fn) raises", pybreaker_reject),
        ("circuitbreaker fn() raises", circuitbreaker_reject),
    ]
    for label, factory in memory_rows:
        loop = factory()
        loop(1000)  # let lazily created state settle before measuring
        retained, peak = retained_bytes(loop, args.rejections)
        flat = "flat" if retained < 4096 else "GROWS"
        if label.startswith("seawall") and flat != "flat":
            missed.append(label)
        print(f"  {label:<32} retained {retained:>8} B  peak +{peak:>7} B  {flat}")

    if missed:
        print("\nmissed:", ", ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
