"""Alerts without noise: rules over seawall's events, a cooldown per incident, and delivery to
webhooks, Slack, Alertmanager or the log off the request path: one background worker per
process schedules, each sink delivers on its own lane, so one that hangs delays no other."""

from seawall.observability.alerts.engine import Alerts
from seawall.observability.alerts.memory import AlertMemory, MemoryAlertMemory
from seawall.observability.alerts.model import SEVERITIES, Alert
from seawall.observability.alerts.outbox import Outbox
from seawall.observability.alerts.sinks import (
    SIGNATURE_HEADER,
    AlertmanagerSink,
    LogSink,
    Sink,
    SlackSink,
    WebhookSink,
)

__all__ = [
    "SEVERITIES",
    "SIGNATURE_HEADER",
    "Alert",
    "AlertMemory",
    "AlertmanagerSink",
    "Alerts",
    "LogSink",
    "MemoryAlertMemory",
    "Outbox",
    "Sink",
    "SlackSink",
    "WebhookSink",
]
