"""Where alerts go: a signed webhook, Slack, Alertmanager's v2 API, or the log.

Each sink turns a batch of (already redacted) alerts into one delivery. Sinks run only on their
own lane thread, one delivery at a time (:mod:`~seawall.observability.alerts.worker`), never on
a request's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import structlog

from seawall.config.schema import AlertSink
from seawall.observability.alerts.http import post
from seawall.observability.alerts.model import Alert

__all__ = [
    "SIGNATURE_HEADER",
    "AlertmanagerSink",
    "LogSink",
    "Sink",
    "SlackSink",
    "WebhookSink",
    "sink_from_settings",
]

SIGNATURE_HEADER = "X-Seawall-Signature"
"""``sha256=<hex HMAC-SHA256 of the raw body with the sink's secret>``, when it has one."""
_JSON = {"Content-Type": "application/json", "User-Agent": "seawall-alerts"}


class Sink(Protocol):
    """``batch_interval``: at least this many seconds between two deliveries (0: no limit)."""

    name: str
    batch_interval: float
    refresh: float | None  # re-send firing alerts this often (Alertmanager expires them)

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None: ...


class WebhookSink:
    """POSTs ``{"alerts": [...]}`` (each :meth:`Alert.as_dict`); signed when ``secret`` is set."""

    batch_interval = 0.0
    refresh: float | None = None

    def __init__(self, url: str, secret: str | None = None) -> None:
        self.name = "webhook"
        self.url = url
        self._secret = secret.encode() if secret else None

    def body(self, alerts: Sequence[Alert]) -> bytes:
        return json.dumps({"alerts": [a.as_dict() for a in alerts]}, sort_keys=True).encode()

    def headers(self, body: bytes) -> dict[str, str]:
        if self._secret is None:
            return dict(_JSON)
        digest = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return {**_JSON, SIGNATURE_HEADER: f"sha256={digest}"}

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        body = self.body(alerts)
        post(self.url, body, self.headers(body), timeout)


_MARKS = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}


class SlackSink:
    """An incoming-webhook message of one line per alert, at most one message per second."""

    batch_interval = 1.0
    refresh: float | None = None

    def __init__(self, url: str) -> None:
        self.name = "slack"
        self.url = url

    @staticmethod
    def line(alert: Alert) -> str:
        mark = ":white_check_mark:" if alert.status == "resolved" else _MARKS[alert.severity]
        status = "resolved" if alert.status == "resolved" else alert.severity
        ids = alert.details.get("last_correlation_id")
        tail = f" (correlation id {ids})" if ids else ""
        return f"{mark} [{status}] {alert.rule}: {alert.summary}{tail}"

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        text = "\n".join(self.line(a) for a in alerts)
        post(self.url, json.dumps({"text": text}).encode(), _JSON, timeout)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


class AlertmanagerSink:
    """``POST /api/v2/alerts``: labels, annotations, ``startsAt``, ``endsAt``, ``generatorURL``.

    A firing alert ends ``3 * refresh`` seconds ahead and is re-sent every ``refresh`` while it
    lasts (so a dead process's alerts expire); errors, which nothing resolves, end after the
    cooldown; a resolution ends now.
    """

    batch_interval = 0.0

    def __init__(
        self, url: str, *, generator_url: str | None = None, refresh: float = 60.0
    ) -> None:
        self.name = "alertmanager"
        self.url = url + "/api/v2/alerts"
        self._generator = generator_url or "http://seawall.invalid/alerts"
        self.refresh: float | None = refresh
        self.cooldown = 300.0

    def payload(self, alert: Alert, now: float) -> dict[str, Any]:
        labels = {
            "alertname": "seawall_" + alert.rule,
            "severity": alert.severity,
            "key": alert.key,
            **alert.labels,
        }
        if alert.status == "resolved":
            ends = alert.ended_at or now
        elif alert.rule in ("new_error", "error_spike"):
            ends = alert.started_at + max(self.cooldown, 60.0)
        else:
            ends = max(now, alert.started_at) + 3 * (self.refresh or 60.0)
        details = ", ".join(f"{k}={v}" for k, v in alert.details.items() if v is not None)
        return {
            "labels": labels,
            "annotations": {"summary": alert.summary, "description": details},
            "startsAt": _iso(alert.started_at or now),
            "endsAt": _iso(ends),
            "generatorURL": f"{self._generator}?key={quote(alert.key)}",
        }

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        now = datetime.now(UTC).timestamp()
        body = json.dumps([self.payload(a, now) for a in alerts]).encode()
        post(self.url, body, _JSON, timeout)


class LogSink:
    """One ``alert`` event per alert on the ``seawall`` structlog logger."""

    batch_interval = 0.0
    refresh: float | None = None

    def __init__(self) -> None:
        self.name = "log"

    def deliver(self, alerts: Sequence[Alert], timeout: float) -> None:
        logger = structlog.get_logger("seawall")
        for alert in alerts:
            fields = alert.as_dict()
            summary = fields.pop("summary")
            log = logger.info if alert.status == "resolved" else logger.warning
            log("alert", alert=summary, **fields)


def sink_from_settings(sink: AlertSink, *, cooldown: float) -> Sink:
    """The sink one entry of ``alerts.sinks`` describes."""
    if sink.type == "log" or sink.url is None:
        return LogSink()
    if sink.type == "webhook":
        return WebhookSink(sink.url, sink.secret)
    if sink.type == "slack":
        return SlackSink(sink.url)
    manager = AlertmanagerSink(sink.url, generator_url=sink.generator_url)
    manager.cooldown = cooldown
    return manager
