"""One notification, as every sink renders it: what fired, where, how often, never raw text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["SEVERITIES", "Alert", "Severity", "Status"]

Severity = Literal["info", "warning", "critical"]
Status = Literal["firing", "resolved"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
"""In rising order: a higher severity for an incident in cooldown is an escalation, sent again."""


@dataclass(frozen=True, slots=True)
class Alert:
    """``key`` names the incident (``error:<fingerprint>``, ``breaker:<name>``); ``labels`` are
    short identifying strings, ``details`` ids and counts; every text has passed the redactor."""

    rule: str
    key: str
    severity: Severity
    summary: str
    status: Status = "firing"
    labels: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, str | int | float | None] = field(default_factory=dict)
    started_at: float = 0.0  # Unix seconds
    ended_at: float | None = None

    def redacted(self, redact: Callable[[str], str]) -> Alert:
        """This alert with every text (key, summary, label and detail values) through ``redact``."""
        return replace(
            self,
            key=redact(self.key),
            summary=redact(self.summary),
            labels={k: redact(v) for k, v in self.labels.items()},
            details={k: redact(v) if isinstance(v, str) else v for k, v in self.details.items()},
        )

    def resolved(self, at: float) -> Alert:
        """The resolution of this alert, ended ``at`` (Unix seconds)."""
        return replace(self, status="resolved", ended_at=at)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as the webhook sink posts it."""
        return {
            "rule": self.rule,
            "key": self.key,
            "status": self.status,
            "severity": self.severity,
            "summary": self.summary,
            "labels": dict(self.labels),
            "details": dict(self.details),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }
