"""One failure published N times on a bus, for callgrind (``benchmarks/instructions.sh``
style): ``python benchmarks/callgrind_analytics.py VARIANT N`` with VARIANT ``bare``,
``analytics`` or ``alerts`` (analytics + alert rules in steady state); ``pipeline-off`` and
``pipeline-on``: a fresh failing request through ``Pipeline.problem`` without and with them."""

from __future__ import annotations

import sys

from bench_analytics import OFF, failure, pipeline_failure

from seawall.clock import FakeClock
from seawall.config.settings import Settings
from seawall.observability.alerts import Alerts
from seawall.observability.analytics import ErrorAnalytics
from seawall.observability.events import EventBus


def main(variant: str, n: int) -> None:
    if variant.startswith("pipeline"):
        fail = pipeline_failure(OFF if variant == "pipeline-off" else None)
        for _ in range(n):
            fail()
        return
    event = failure()
    clock = FakeClock(1000.0)
    bus = EventBus()
    if variant in ("analytics", "alerts"):
        ErrorAnalytics(redact=str, clock=clock).attach(bus)
    if variant == "alerts":
        Alerts(Settings().alerts, redact=str, sinks=[], clock=clock).attach(bus)
    publish = bus.publish
    for _ in range(n):
        publish(event)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
