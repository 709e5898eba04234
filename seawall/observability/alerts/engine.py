"""One app's alerting: rules subscribed to its bus, cooldowns, redaction, then the outbox.

An event reaches a rule on the request's thread; what the rule returns is admitted (not in
cooldown for its key, or an escalation: a higher severity), redacted, handed to the
:func:`~seawall.testing.capture_alerts` captures and queued. Delivery happens on the worker.
The cooldown is checked locally first, so a storm of failures costs a dict look-up each, and
claimed in the shared :class:`~seawall.observability.alerts.memory.AlertMemory` once per
notification.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from seawall.clock import Clock, monotonic
from seawall.config.schema import AlertsSettings
from seawall.observability.alerts.memory import AlertMemory, MemoryAlertMemory, trimmed
from seawall.observability.alerts.model import SEVERITIES, Alert, Severity
from seawall.observability.alerts.outbox import Outbox
from seawall.observability.alerts.rules import Rule, event_class, rules_from_settings
from seawall.observability.alerts.sinks import Sink, sink_from_settings
from seawall.observability.alerts.worker import worker
from seawall.observability.events import EventBus
from seawall.resilience.registry import BreakerRegistry

__all__ = ["CAPTURES", "Alerts"]

CAPTURES: list[list[Alert]] = []
"""The lists :func:`seawall.testing.capture_alerts` collects into (every app's alerts)."""
_MAX_QUIET = 4096


class Alerts:
    """Rules, cooldowns and delivery for one pipeline (``pipeline.alerts``).

    ``waiting`` lists ``(rule, event class name)`` pairs whose event nothing defines yet;
    ``notified`` and ``suppressed`` count admitted and cooled-down alerts.
    """

    def __init__(
        self,
        settings: AlertsSettings | None = None,
        *,
        redact: Callable[[str], str],
        breakers: BreakerRegistry | None = None,
        memory: AlertMemory | None = None,
        sinks: Sequence[Sink] | None = None,
        clock: Clock = monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings = settings or AlertsSettings()
        self._redact = redact
        self._breakers = breakers
        self._clock = clock
        self._wall = wall_clock
        self.memory: AlertMemory = memory if memory is not None else MemoryAlertMemory(clock=clock)
        self.cooldown = settings.cooldown
        self.rules: list[Rule] = rules_from_settings(settings.rules)
        if sinks is None:
            sinks = [sink_from_settings(s, cooldown=settings.cooldown) for s in settings.sinks]
        self.outbox = Outbox(
            sinks,
            size=settings.queue_size,
            timeout=settings.timeout,
            retries=settings.retries,
            clock=clock,
        )
        self.outbox.on_pump = self._refresh
        self.waiting: list[tuple[str, str]] = []
        self.notified = 0
        self.suppressed = 0
        self._quiet: dict[str, float] = {}
        self._firing: dict[str, tuple[Alert, float]] = {}  # key -> (alert, last sent, monotonic)
        self._lock = threading.Lock()

    def attach(self, bus: EventBus) -> None:
        """Subscribe every rule to the event classes it names that exist."""
        for rule in self.rules:
            for name in rule.events:
                kind = event_class(name)
                if kind is None:
                    self.waiting.append((rule.name, name))
                else:
                    bus.subscribe(kind, functools.partial(self._on_event, rule))

    def start(self) -> None:
        """Deliver on the process's alert worker (started when this app has sinks)."""
        if self.outbox.sinks:
            worker().add(self.outbox)

    def close(self) -> None:
        """Stop delivering this app's alerts (what waits is left undelivered)."""
        worker().remove(self.outbox)

    def _on_event(self, rule: Rule, event: Any) -> None:
        for alert in rule.evaluate(event, self):
            self.notify(alert, resolvable=rule.resolvable)

    # RuleContext
    def now(self) -> float:
        return self._wall()

    def monotonic(self) -> float:
        return self._clock()

    def first_time(self, key: str, ttl: float) -> bool:
        return self.memory.claim(key, ttl)

    def quiet(self, key: str, severity: Severity) -> bool:
        return self.quiet_until(key, severity) > self._clock()

    def quiet_until(self, key: str, severity: Severity) -> float:
        return self._quiet.get(f"{key}:{severity}", -math.inf)

    def critical(self, breaker: str) -> bool:
        if self._breakers is None:
            return False
        return any(entry.critical for entry in self._breakers.named(breaker))

    def notify(self, alert: Alert, *, resolvable: bool = False) -> bool:
        """Admit, redact, capture and queue ``alert``; False when its cooldown holds it back."""
        with self._lock:
            admitted = self._admit(alert, resolvable)
        if admitted is None:
            self.suppressed += 1
            return False
        self.notified += 1
        for captured in CAPTURES:
            captured.append(admitted)
        self.outbox.put(admitted)
        return True

    def _admit(self, alert: Alert, resolvable: bool) -> Alert | None:
        now = self._clock()
        if alert.status == "resolved":
            firing = self._firing.pop(alert.key, None)
            if firing is None:
                return None  # nothing was told: nothing to resolve
            for severity in SEVERITIES:
                self.memory.release(f"{alert.key}:{severity}")
                self._quiet.pop(f"{alert.key}:{severity}", None)
            return firing[0].resolved(self._wall())
        if self.quiet(alert.key, alert.severity):
            return None
        claim = f"{alert.key}:{alert.severity}"
        if len(self._quiet) >= _MAX_QUIET:
            self._quiet = trimmed(self._quiet, now)
        if not self.memory.claim(claim, self.cooldown):
            self._quiet[claim] = now + self.cooldown  # another worker told it
            return None
        rank = SEVERITIES.index(alert.severity)
        for lower in SEVERITIES[: rank + 1]:
            if lower != alert.severity:
                self.memory.claim(f"{alert.key}:{lower}", self.cooldown)
            self._quiet[f"{alert.key}:{lower}"] = now + self.cooldown
        redacted = alert.redacted(self._redact)
        if resolvable:
            self._firing[alert.key] = (redacted, now)
        return redacted

    def _refresh(self, now: float) -> None:
        """Re-send the firing alerts to the sinks that expire them (Alertmanager)."""
        sinks = [s for s in self.outbox.sinks if s.refresh is not None]
        if not sinks:
            return
        with self._lock:
            for key, (alert, sent) in list(self._firing.items()):
                due = [s for s in sinks if s.refresh is not None and now - sent >= s.refresh]
                if due:
                    self._firing[key] = (alert, now)
                    self.outbox.put(alert, due)

    @property
    def firing(self) -> list[Alert]:
        """The alerts told and not resolved yet (of the rules that resolve)."""
        with self._lock:
            return [alert for alert, _ in self._firing.values()]
