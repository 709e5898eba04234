"""A sink that never answers adds nothing to request latency and holds back no other sink:
p50/p99 of failing requests through the WSGI middleware with no sink, with a webhook to a local
server that hangs (30 s timeout), and with that one beside a healthy webhook, interleaved
rounds. Every request fails with a new fingerprint, so each one queues an alert per sink (the
worst case for the queue). Delivery: what reached the healthy webhook meanwhile (its receiver
runs in this process, so its work shares the GIL with the requests). Memory: Python's allocated
blocks after each round of the hanging case, the queue's length, the batches in flight and the
analytics' groups (bounded by ``queue_size``, one batch per sink and ``max_fingerprints`` while
30,000 distinct failures go by).

    python benchmarks/bench_alert_hang.py
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seawall.server.pipeline import Pipeline
from seawall.wsgi.middleware import WSGIMiddleware
from tests.receiver import receiver

ROUNDS = 5
N = 2000


def _drop(logger: Any, name: str, event: Any) -> Any:
    raise structlog.DropEvent


def failing_app(kinds: list[type[Exception]]) -> Callable[..., Iterable[bytes]]:
    counter = iter(range(10**9))

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise kinds[next(counter) % len(kinds)]("upstream refused")

    return app


def run(middleware: WSGIMiddleware) -> list[float]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/orders", "wsgi.url_scheme": "http"}
    times = []
    for _ in range(N):
        start = time.perf_counter()
        body = middleware(dict(environ), lambda status, headers, exc_info=None: None)
        b"".join(body)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    kinds = [type(f"Failure{i}", (Exception,), {}) for i in range(ROUNDS * N * 3)]
    logger = structlog.wrap_logger(None, processors=[_drop])
    with receiver(hang=True) as hook, receiver() as healthy:
        hanging = {"alerts": {"sinks": [{"type": "webhook", "url": hook.url}], "timeout": 30}}
        webhooks = [{"type": "webhook", "url": u} for u in (hook.url, healthy.url)]
        beside = {"alerts": {"sinks": webhooks, "timeout": 30}}
        cases = {
            "no sink": WSGIMiddleware(failing_app(kinds), pipeline=Pipeline(None, logger=logger)),
            "hanging webhook": WSGIMiddleware(
                failing_app(kinds), pipeline=Pipeline(hanging, logger=logger)
            ),
            "hanging + healthy": WSGIMiddleware(
                failing_app(kinds), pipeline=Pipeline(beside, logger=logger)
            ),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        blocks = []
        told = posts = 0
        for _ in range(ROUNDS):
            for name, middleware in cases.items():
                times = sorted(run(middleware))
                results[name].append((times[len(times) // 2], times[int(len(times) * 0.99)]))
            with healthy.lock:  # count, and keep the receiver's memory out of the figures
                told += sum(len(r.json()["alerts"]) for r in healthy.requests)
                posts += len(healthy.requests)
                healthy.requests.clear()
            gc.collect()
            blocks.append(sys.getallocatedblocks())
        print(f"hanging sink got {len(hook.requests)} request(s), answered none")
        print(f"healthy sink beside it got {told} alerts in {posts} requests meanwhile")
        for name, rounds in results.items():
            p50 = statistics.median(r[0] for r in rounds) * 1e6
            p99s = [r[1] * 1e6 for r in rounds]
            print(
                f"{name:18s} p50 {p50:6.1f} µs  p99 {statistics.median(p99s):6.1f} µs"
                f"  (p99 range {min(p99s):.1f}-{max(p99s):.1f} over {ROUNDS} rounds)"
            )
        hung = cases["hanging webhook"].pipeline
        both = cases["hanging + healthy"].pipeline.alerts.outbox
        print(f"alerts dropped by the bounded queue: {hung.alerts.outbox.dropped}")
        print(
            f"memory: allocated blocks after each round {', '.join(map(str, blocks))};"
            f" queued {len(hung.alerts.outbox)} (queue_size {hung.settings.alerts.queue_size}),"
            f" in flight {hung.alerts.outbox.in_flight} (beside a healthy sink: queued"
            f" {len(both)}, in flight {both.in_flight}), groups {len(hung.analytics)}"
            f" (max_fingerprints {hung.settings.analytics.max_fingerprints})"
        )
        for middleware in cases.values():
            middleware.pipeline.alerts.close()


if __name__ == "__main__":
    main()
