"""What error analytics and alert rules add to the error path (target: at most 2 µs), and
that the happy path publishes nothing they listen to.

Two measures, interleaved rounds (order reversed every other round, collector off while
timing), thread CPU time; each case's median and its median paired difference over the first:
- the bus: ``publish(RequestFailed)`` of one failure (20-frame traceback, its app frame already
  found by the log's event, as in a pipeline) with no listener, analytics, analytics + alerts
  in steady state (fingerprint known, incident in cooldown: what each failure of a storm pays);
- the whole error path: ``Pipeline.problem`` on a fresh 20-frame exception, log event built
  (then dropped), with analytics and alerts on versus off.

    python benchmarks/bench_analytics.py
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import structlog

from seawall.clock import FakeClock
from seawall.config.settings import Settings
from seawall.observability.alerts import Alerts
from seawall.observability.analytics import ErrorAnalytics
from seawall.observability.events import EventBus, RequestFailed
from seawall.server.pipeline import Pipeline

ROUNDS = 101
N = 2000
OFF = {
    "analytics": {"enabled": False},
    "alerts": {"rules": dict.fromkeys(("new_error", "error_spike", "breaker_open", "recovery_exhausted", "retry_budget_exhausted", "readiness_failed"), False)},
}  # fmt: skip


def deep(n: int) -> None:
    if n:
        deep(n - 1)
    raise ConnectionError("upstream refused")


def failure() -> RequestFailed:
    try:
        deep(19)
    except ConnectionError as exc:
        problem = Pipeline().problems.to_problem(exc, correlation_id="c", instance="/x")
        return RequestFailed(exc, problem, "GET", "GET /orders/{id}")
    raise AssertionError


def _drop(logger: Any, name: str, event: Any) -> Any:
    raise structlog.DropEvent


def bus_cases() -> dict[str, Callable[[], None]]:
    event = failure()
    clock = FakeClock(1000.0)
    bare, with_analytics, with_alerts = EventBus(), EventBus(), EventBus()
    ErrorAnalytics(redact=str, clock=clock).attach(with_analytics)
    ErrorAnalytics(redact=str, clock=clock).attach(with_alerts)
    Alerts(Settings().alerts, redact=str, sinks=[], clock=clock).attach(with_alerts)
    cases = {}
    for name, bus in (("bus: no listener", bare), ("bus: analytics", with_analytics),
                      ("bus: analytics + alerts", with_alerts)):  # fmt: skip
        for _ in range(100):  # the group exists, the incident is in cooldown
            bus.publish(event)
        cases[name] = lambda publish=bus.publish: publish(event)
    return cases


def pipeline_failure(settings: Any) -> Callable[[], None]:
    """One failing request through ``Pipeline.problem`` (log event built, then dropped),
    warmed up: the group exists and the incident is in cooldown."""
    pipeline = Pipeline(settings, logger=structlog.wrap_logger(None, processors=[_drop]))

    def fail() -> None:
        try:
            deep(19)
        except ConnectionError as exc:
            pipeline.problem(exc, method="GET", path="/orders/1", route="GET /orders/{id}")

    for _ in range(100):
        fail()
    return fail


def pipeline_cases() -> dict[str, Callable[[], None]]:
    return {
        "pipeline: analytics off": pipeline_failure(OFF),
        "pipeline: analytics on": pipeline_failure(None),
    }


def measure(cases: dict[str, Callable[[], None]], n: int) -> dict[str, list[float]]:
    """Rounds of ``n`` calls per case, the cases' order reversed every other round, the
    collector off while timing (collected between rounds); thread CPU time, so that time
    this thread spends waiting for a core on a loaded machine does not count."""
    results: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    gc.collect()
    gc.disable()
    try:
        for i in range(ROUNDS):
            for name in names if i % 2 == 0 else reversed(names):
                case = cases[name]
                start = time.thread_time_ns()
                for _ in range(n):
                    case()
                results[name].append((time.thread_time_ns() - start) / n / 1e3)
            gc.collect()
    finally:
        gc.enable()
    return results


def report(results: dict[str, list[float]]) -> None:
    """Each case's median, and its median paired difference over the first case (the
    difference within each round, so that a slow round slows both)."""
    base = next(iter(results.values()))
    for name, times in results.items():
        paired = [t - b for t, b in zip(times, base, strict=True)]
        q1, _, q3 = statistics.quantiles(paired, n=4)
        print(
            f"{name:26s} {statistics.median(times):7.2f} µs/failure"
            f"  (+{statistics.median(paired):5.2f} µs, quartiles {q1:+.2f}..{q3:+.2f})"
            f"  spread {min(times):.2f}-{max(times):.2f}"
        )


def main() -> None:
    report(measure(bus_cases(), N))
    report(measure(pipeline_cases(), N // 10))
    print(f"{ROUNDS} rounds, thread CPU time, collector off while timing")
    listened = sorted(k.__name__ for k in Pipeline().events._listeners)
    print("a pipeline listens to:", ", ".join(listened), "(none is published on success)")


if __name__ == "__main__":
    main()
