"""The alert rules: each names the event classes it reacts to and turns one event into alerts.

A rule subscribes by class *name* (:attr:`Rule.events`), resolved among the seawall events
defined when alerting starts; a name nothing defines yet leaves that part of the rule waiting
(:attr:`Alerts.waiting <seawall.observability.alerts.engine.Alerts.waiting>` lists it), so rules
for events other parts of seawall add later need no change here. Rules are pure: the context
gives them the time, the memory of errors already seen and a cheap "is this key quiet" test.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from typing import Any, Protocol

from seawall.config.schema import AlertRules, SpikeRule
from seawall.observability.alerts.model import Alert, Severity
from seawall.observability.analytics import ErrorGroup, ErrorRecorded
from seawall.observability.events import Event

__all__ = [
    "BreakerOpenRule",
    "DeadLetterDepthRule",
    "ErrorSpikeRule",
    "EventRule",
    "NewErrorRule",
    "RetryBudgetRule",
    "Rule",
    "RuleContext",
    "event_class",
    "rules_from_settings",
]

NEW_ERROR_MEMORY = 7 * 86_400.0
"""Seconds a fingerprint stays known once seen: after a week of silence it is new again."""
_HIDDEN_FIELDS = frozenset({"exception", "message", "detail", "error", "traceback", "problem"})
"""Event fields an alert never carries: raw exception text stays out of notifications."""


class RuleContext(Protocol):
    """What a rule may ask of the alert engine."""

    def now(self) -> float:
        """Unix seconds, for the alert's start time."""
        ...

    def monotonic(self) -> float: ...

    def first_time(self, key: str, ttl: float) -> bool:
        """True when ``key`` was not claimed in the shared memory within ``ttl`` seconds."""
        ...

    def quiet(self, key: str, severity: Severity) -> bool:
        """True while ``key`` at ``severity`` is in cooldown here (skip building the alert)."""
        ...

    def quiet_until(self, key: str, severity: Severity) -> float:
        """The monotonic time that cooldown ends (in the past when there is none)."""
        ...

    def critical(self, breaker: str) -> bool:
        """True when the breaker of that name guards something marked ``critical``."""
        ...


class Rule(Protocol):
    """``events``: class names; ``resolvable``: a later event may resolve what it fires."""

    name: str
    events: tuple[str, ...]
    resolvable: bool

    def evaluate(self, event: Any, ctx: RuleContext) -> Iterable[Alert]: ...


def event_class(name: str) -> type[Event] | None:
    """The event class called ``name`` (defined by then), or ``None``; seawall's own first,
    so an application's class of the same name never takes a seawall rule's place."""
    found: list[type[Event]] = []
    pending: list[type[Event]] = [Event]
    while pending:
        kind = pending.pop()
        if kind.__name__ == name:
            found.append(kind)
        pending.extend(kind.__subclasses__())
    found.sort(key=lambda kind: (not kind.__module__.startswith("seawall."), not _bound(kind)))
    return found[0] if found else None


def _bound(kind: type) -> bool:
    """True for the class its module holds: ``dataclass(slots=True)`` leaves a first copy
    among the subclasses until the collector frees it."""
    module = sys.modules.get(kind.__module__)
    return module is not None and getattr(module, kind.__qualname__, None) is kind


def _error_labels(group: ErrorGroup) -> dict[str, str]:
    return {
        "fingerprint": group.fingerprint,
        "exception": group.exception,
        "frame": group.frame,
        "route": group.route or "-",
        "classification": group.classification,
    }


def _error_details(group: ErrorGroup) -> dict[str, str | int | float | None]:
    return {
        "count": group.count,
        "status": group.status,
        "routes": ", ".join(group.routes),
        "last_correlation_id": group.correlation_id,
        "last_error_id": group.error_id,
    }


class NewErrorRule:
    """The first failure of a fingerprint not seen for :data:`NEW_ERROR_MEMORY` seconds."""

    name = "new_error"
    events: tuple[str, ...] = ("ErrorRecorded",)
    resolvable = False

    def evaluate(self, event: ErrorRecorded, ctx: RuleContext) -> Iterable[Alert]:
        group = event.group
        if not event.new or not ctx.first_time(f"seen:{group.fingerprint}", NEW_ERROR_MEMORY):
            return ()
        summary = f"new error {group.exception} at {group.frame} on {group.route or '-'}"
        return (
            Alert(
                self.name,
                f"error:{group.fingerprint}",
                "warning",
                summary,
                labels=_error_labels(group),
                details=_error_details(group),
                started_at=ctx.now(),
            ),
        )


class ErrorSpikeRule:
    """At least ``min_count`` failures in ``window`` seconds and ``factor`` times the baseline.

    It shares the incident key of :class:`NewErrorRule` one severity up, so a new error that
    spikes at once is told twice (new, then spike) and then stays quiet for the cooldown.
    """

    name = "error_spike"
    events: tuple[str, ...] = ("ErrorRecorded",)
    resolvable = False

    def __init__(self, spike: SpikeRule) -> None:
        self.min_count = spike.min_count
        self.factor = spike.factor
        self.window = spike.window

    def evaluate(self, event: ErrorRecorded, ctx: RuleContext) -> Iterable[Alert]:
        group = event.group
        key = f"error:{group.fingerprint}"
        now = ctx.monotonic()
        quiet_until = ctx.quiet_until(key, "critical")
        if quiet_until > now:
            group.defer(until=quiet_until)
            return ()
        count = group.window_count(now)
        baseline = group.baseline(now)
        threshold = max(self.min_count, self.factor * baseline)
        if count < threshold:
            # the window cannot reach the threshold before this many more failures
            group.defer(count=group.count + max(int(threshold - count), 1))
            return ()
        details = _error_details(group)
        details.update(window_count=count, baseline=round(baseline, 3), window=self.window)
        summary = (
            f"error spike {group.exception} on {group.route or '-'}: {count} in {self.window} s"
            f" (baseline {baseline:.1f})"
        )
        return (
            Alert(
                self.name,
                key,
                "critical",
                summary,
                labels=_error_labels(group),
                details=details,
                started_at=ctx.now(),
            ),
        )


def _name_of(event: object) -> str:
    for attr in ("name", "dependency", "route", "check"):
        value = getattr(event, attr, None)
        if isinstance(value, str) and value:
            return value
    return "-"


class BreakerOpenRule:
    """A breaker (route or dependency) that opens fires; the same breaker closing resolves."""

    name = "breaker_open"
    events: tuple[str, ...] = ("BreakerStateChanged", "DependencyBreakerChanged")
    resolvable = True

    def evaluate(self, event: Any, ctx: RuleContext) -> Iterable[Alert]:
        breaker = _name_of(event)
        key = f"breaker:{breaker}"
        state = getattr(event, "new_state", None)
        critical = getattr(event, "critical", None)  # a dependency's event says it
        if critical is None:
            critical = ctx.critical(breaker)
        severity: Severity = "critical" if critical else "warning"
        if state == "closed":
            return (Alert(self.name, key, severity, f"breaker {breaker} closed", "resolved"),)
        if state != "open" or ctx.quiet(key, severity):
            return ()
        reason = str(getattr(event, "reason", "-"))
        return (
            Alert(
                self.name,
                key,
                severity,
                f"breaker {breaker} opened ({reason})",
                labels={"breaker": breaker, "kind": _kind(event), "reason": reason},
                started_at=ctx.now(),
            ),
        )


def _kind(event: object) -> str:
    return "dependency" if "Dependency" in type(event).__name__ else "route"


class EventRule:
    """Fires on the events named in ``events`` and resolves on those in ``resolved_by``.

    The alert carries the event's scalar fields (and tuples of names, joined) as labels, never
    exception text; its key is
    the rule and the event's ``name``, ``dependency``, ``route`` or ``check``.
    """

    def __init__(
        self,
        name: str,
        events: tuple[str, ...],
        severity: Severity,
        resolved_by: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.events = (*events, *resolved_by)
        self._resolved_by = resolved_by
        self.severity: Severity = severity
        self.resolvable = bool(resolved_by)

    def evaluate(self, event: Any, ctx: RuleContext) -> Iterable[Alert]:
        subject = _name_of(event)
        key = f"{self.name}:{subject}"
        if type(event).__name__ in self._resolved_by:
            return (Alert(self.name, key, self.severity, f"{self.name} {subject}", "resolved"),)
        if ctx.quiet(key, self.severity):
            return ()
        labels = {"subject": subject}
        if dataclasses.is_dataclass(event):
            for f in dataclasses.fields(event):
                value = getattr(event, f.name)
                if f.name in _HIDDEN_FIELDS:
                    continue
                if isinstance(value, str | int | float | bool):
                    labels[f.name] = str(value)
                elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
                    labels[f.name] = ", ".join(value)  # names (failing components)
        summary = f"{self.name.replace('_', ' ')}: {subject}"
        return (Alert(self.name, key, self.severity, summary, labels=labels, started_at=ctx.now()),)


class RetryBudgetRule:
    """A dependency's retry budget ran out (a ``DependencyRetry`` with outcome
    ``budget_exhausted``): one notification per incident, the incident lasting while refusals
    keep coming less than ``cooldown`` seconds apart, however long that is."""

    name = "retry_budget_exhausted"
    events: tuple[str, ...] = ("DependencyRetry",)
    resolvable = False

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._last: dict[str, float] = {}  # dependency -> monotonic time of its last refusal

    def evaluate(self, event: Any, ctx: RuleContext) -> Iterable[Alert]:
        if getattr(event, "outcome", None) != "budget_exhausted":
            return ()
        dependency = _name_of(event)
        now = ctx.monotonic()
        last = self._last.get(dependency)
        if len(self._last) >= _MAX_TRACKED and last is None:
            self._last.clear()
        self._last[dependency] = now
        if last is not None and now - last < self.cooldown:
            return ()  # the same incident
        key = f"{self.name}:{dependency}"
        if ctx.quiet(key, "warning"):
            return ()
        labels = {
            "dependency": dependency,
            "classification": str(getattr(event, "classification", "-")),
        }
        return (
            Alert(
                self.name,
                key,
                "warning",
                f"retry budget exhausted: {dependency}",
                labels=labels,
                started_at=ctx.now(),
            ),
        )


class DeadLetterDepthRule:
    """A dead-letter queue holds more than ``max`` entries (a ``DeadLetterStored`` event's
    estimated depth); the engine's cooldown keeps it to one notification per incident."""

    name = "dead_letter_depth"
    events: tuple[str, ...] = ("DeadLetterStored",)
    resolvable = False

    def __init__(self, max: int) -> None:
        self.max = max

    def evaluate(self, event: Any, ctx: RuleContext) -> Iterable[Alert]:
        depth = getattr(event, "depth", 0)
        if depth <= self.max:
            return ()
        queue = str(getattr(event, "queue", "-"))
        key = f"{self.name}:{queue}"
        if ctx.quiet(key, "warning"):
            return ()
        return (
            Alert(
                self.name,
                key,
                "warning",
                f"dead-letter queue {queue} holds {depth} entries (more than {self.max})",
                labels={"queue": queue},
                details={"depth": depth, "max": self.max},
                started_at=ctx.now(),
            ),
        )


_MAX_TRACKED = 4096
"""Dependencies a rule keeps state for (names come from settings; this bounds a mistake)."""


def rules_from_settings(rules: AlertRules) -> list[Rule]:
    """The rules the ``alerts.rules`` settings turn on, in a fixed order."""
    chosen: list[Rule] = []
    if rules.new_error:
        chosen.append(NewErrorRule())
    if rules.error_spike is not None:
        chosen.append(ErrorSpikeRule(rules.error_spike))
    if rules.breaker_open:
        chosen.append(BreakerOpenRule())
    if rules.recovery_exhausted:
        chosen.append(EventRule("recovery_exhausted", ("RecoveryExhausted",), "critical"))
    if rules.retry_budget_exhausted:
        chosen.append(RetryBudgetRule(rules.retry_budget_cooldown))
    if rules.readiness_failed:
        chosen.append(
            EventRule("readiness_failed", ("ReadinessFailed",), "critical", ("ReadinessRecovered",))
        )
    if rules.dead_letter_depth is not None:
        chosen.append(DeadLetterDepthRule(rules.dead_letter_depth))
    return chosen
