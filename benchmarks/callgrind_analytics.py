"""One failure published N times on a bus, for callgrind (``benchmarks/instructions.sh``
style): ``python benchmarks/callgrind_analytics.py VARIANT N`` with VARIANT ``bare``,
``analytics`` or ``alerts`` (analytics + alert rules in steady state)."""

from __future__ import annotations

import sys

from bench_analytics import failure

from seawall.clock import FakeClock
from seawall.config.settings import Settings
from seawall.observability.alerts import Alerts
from seawall.observability.analytics import ErrorAnalytics
from seawall.observability.events import EventBus


def main(variant: str, n: int) -> None:
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
