"""One app's alerting: rules subscribed to its bus, cooldowns, redaction, then the outbox.

An event reaches a rule on the request's thread; what the rule returns is admitted by this
process's memory (not in cooldown for its key, or an escalation: a higher severity), redacted,
handed to the :func:`~seawall.testing.capture_alerts` captures and queued, so a storm of
failures costs a dict look-up each. With a ``shared`` memory (Redis, so that N workers send one
notification) the shared claim is made on the alert worker before delivery, never on the
request's thread (an ASGI app's event loop): the alert is captured and delivered only once the
claim is won.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    ``notified`` and ``suppressed`` count admitted and cooled-down alerts (``shared_lost``:
    those another worker had claimed first, ``unclaimed_dropped``: claims dropped because
    ``queue_size`` were waiting).
    """

    def __init__(
        self,
        settings: AlertsSettings | None = None,
        *,
        redact: Callable[[str], str],
        breakers: BreakerRegistry | None = None,
        memory: AlertMemory | None = None,
        shared: AlertMemory | None = None,
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
        self.shared = shared
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
        self.shared_lost = 0
        self.unclaimed_dropped = 0
        self._claims: deque[_Claim] = deque()  # waiting for the worker's shared claim
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
                    bus.subscribe(kind, _Listener(self, rule))

    def start(self) -> None:
        """Schedule delivery (on the sinks' lanes) and make shared claims on the process's alert
        worker, started when this app has sinks or a shared memory."""
        if self.outbox.sinks or self.shared is not None:
            worker().add(self.outbox)

    def close(self) -> None:
        """Stop delivering this app's alerts (what waits is left undelivered; a delivery in
        flight ends on its lane, within the timeout)."""
        worker().remove(self.outbox)

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

    def notify(
        self, alert: Alert, *, resolvable: bool = False, claims: Sequence[tuple[str, float]] = ()
    ) -> bool:
        """Admit, redact, capture and queue ``alert``; False when its cooldown holds it back.

        With a shared memory the alert waits for the worker to win its shared claims
        (``claims``: first-time keys the rule asked for, then the cooldown's)."""
        with self._lock:
            admitted = self._admit(alert, resolvable)
        if admitted is None:
            self.suppressed += 1
            return False
        self.notified += 1
        if self.shared is None:
            self._send(admitted)
            return True
        keys = () if admitted.status == "resolved" else (*claims, *self._cooldowns(alert))
        with self._lock:
            if len(self._claims) >= self.settings.queue_size:
                self._claims.popleft()
                self.unclaimed_dropped += 1
            self._claims.append(_Claim(admitted, tuple(keys)))
        self.outbox.wake()
        return True

    def _send(self, alert: Alert) -> None:
        for captured in CAPTURES:
            captured.append(alert)
        self.outbox.put(alert)

    def _cooldowns(self, alert: Alert) -> list[tuple[str, float]]:
        """The cooldown claims of ``alert``: its own severity, then the lower ones it quiets."""
        rank = SEVERITIES.index(alert.severity)
        lower = [f"{alert.key}:{s}" for s in SEVERITIES[:rank]]
        return [(f"{alert.key}:{alert.severity}", self.cooldown), *((k, -1.0) for k in lower)]

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
            self._quiet[claim] = now + self.cooldown
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

    def settle(self) -> None:
        """Make the waiting shared claims (on the worker: each may be a Redis round trip) and
        send the alerts that won them; a resolution releases its keys first."""
        shared = self.shared
        while shared is not None:
            with self._lock:
                if not self._claims:
                    return
                pending = self._claims.popleft()
            alert = pending.alert
            if alert.status == "resolved":
                for severity in SEVERITIES:
                    shared.release(f"{alert.key}:{severity}")
                self._send(alert)
            elif self._won(shared, pending.claims):
                self._send(alert)
            else:
                self._lost(alert)

    def _won(self, shared: AlertMemory, claims: tuple[tuple[str, float], ...]) -> bool:
        """Every required claim (``ttl >= 0``) won, in order; the optional ones claimed after."""
        required = [(k, t) for k, t in claims if t >= 0]
        if not all(shared.claim(key, ttl) for key, ttl in required):
            return False
        for key, ttl in claims:
            if ttl < 0:
                shared.claim(key, self.cooldown)
        return True

    def _lost(self, alert: Alert) -> None:
        """Another worker told this incident: keep quiet, and leave its resolution to that one."""
        with self._lock:
            self.shared_lost += 1
            firing = self._firing.get(alert.key)
            if firing is not None and firing[0] is alert:
                del self._firing[alert.key]

    def _refresh(self, now: float) -> None:
        """On the worker: settle the shared claims, then re-send the firing alerts to the sinks
        that expire them (Alertmanager)."""
        self.settle()
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


@dataclass(frozen=True, slots=True)
class _Claim:
    """An alert admitted here, waiting for its shared ``claims`` (key, ttl; ``ttl < 0``: claimed
    with the cooldown once the others are won, not required)."""

    alert: Alert
    claims: tuple[tuple[str, float], ...]


class _Listener:
    """One rule's listener on the bus: evaluates each event with a context that notes the
    first-time keys the rule asked for, so a shared memory can claim them too."""

    __slots__ = ("alerts", "rule")

    def __init__(self, alerts: Alerts, rule: Rule) -> None:
        self.alerts = alerts
        self.rule = rule

    def __call__(self, event: Any) -> None:
        context = _Context(self.alerts)
        for alert in self.rule.evaluate(event, context):
            self.alerts.notify(alert, resolvable=self.rule.resolvable, claims=context.claims)


class _Context:
    """The :class:`~seawall.observability.alerts.rules.RuleContext` of one evaluation."""

    __slots__ = ("alerts", "claims")

    def __init__(self, alerts: Alerts) -> None:
        self.alerts = alerts
        self.claims: list[tuple[str, float]] = []

    def now(self) -> float:
        return self.alerts.now()

    def monotonic(self) -> float:
        return self.alerts.monotonic()

    def first_time(self, key: str, ttl: float) -> bool:
        first = self.alerts.first_time(key, ttl)
        if first and self.alerts.shared is not None:
            self.claims.append((key, ttl))
        return first

    def quiet(self, key: str, severity: Severity) -> bool:
        return self.alerts.quiet(key, severity)

    def quiet_until(self, key: str, severity: Severity) -> float:
        return self.alerts.quiet_until(key, severity)

    def critical(self, breaker: str) -> bool:
        return self.alerts.critical(breaker)
