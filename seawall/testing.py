"""Helpers for testing apps that use seawall: captured log events, a fake clock, breakers.

>>> with capture_logs() as logs:
...     client.get("/boom")
>>> [e["event"] for e in logs]
['request_failed']
>>> with quiet_logs():          # an expected failure, without its error event in the output
...     client.get("/boom")
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import structlog

import seawall.observability.logging as seawall_logging
from seawall.clock import FakeClock
from seawall.config.settings import Settings
from seawall.observability.alerts.engine import CAPTURES
from seawall.observability.alerts.model import Alert
from seawall.observability.chain import quieted
from seawall.resilience.breaker import CircuitBreaker
from seawall.server.pipeline import Pipeline

__all__ = [
    "CapturedAlerts",
    "CapturedLogs",
    "FakeClock",
    "breaker_for",
    "capture_alerts",
    "capture_logs",
    "quiet_logs",
]


class CapturedLogs:
    """The JSON lines written while :func:`capture_logs` was active, as they would be shipped.

    Iterating gives the events (dicts) in order and ``len()`` counts them; ``text`` is the raw
    output, ``events`` the parsed list, ``named("request_failed")`` the events of one name.
    """

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        """Everything written, as the JSON lines a log shipper would get."""
        return self.stream.getvalue()

    @property
    def events(self) -> list[dict[str, Any]]:
        """Each line parsed: structlog and stdlib events alike, redacted, in order."""
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def named(self, event: str) -> list[dict[str, Any]]:
        """The events whose ``event`` field equals ``event``."""
        return [e for e in self.events if e.get("event") == event]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


@contextmanager
def capture_logs(
    settings: Settings | Mapping[str, Any] | None = None, level: str = "DEBUG"
) -> Iterator[CapturedLogs]:
    """Route structlog and stdlib logging through seawall's redacting JSON chain into memory.

    ``settings`` (a mapping or :class:`~seawall.Settings`) sets the redaction used; ``level``
    the lowest level kept. Nothing reaches the terminal meanwhile. The previous structlog
    configuration and root handlers are restored afterwards.
    """
    saved = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    captured = CapturedLogs()
    seawall_logging.configure(
        settings, format="json", level=level, stream=captured.stream, take_over=()
    )
    try:
        yield captured
    finally:
        structlog.configure(**saved)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def quiet_logs() -> AbstractContextManager[None]:
    """Keep seawall's own log events (``request_failed``, ``request_rejected``, ...) out of the
    output while the block runs, in every thread; events on the bus are still published.

    For tests that provoke failures on purpose; as a pytest fixture:

    >>> @pytest.fixture
    ... def quiet():
    ...     with seawall.testing.quiet_logs():
    ...         yield
    """
    return quieted()


class CapturedAlerts:
    """The alerts seawall decided to send while :func:`capture_alerts` was active, redacted,
    in order (whether or not any sink is configured or reachable)."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def named(self, rule: str) -> list[Alert]:
        """The alerts of ``rule`` (``new_error``, ``error_spike``, ``breaker_open``, ...)."""
        return [a for a in self.alerts if a.rule == rule]

    def __len__(self) -> int:
        return len(self.alerts)


@contextmanager
def capture_alerts() -> Iterator[CapturedAlerts]:
    """Collect every app's alerts as they are admitted (after cooldowns), before delivery; with
    the ``redis`` state backend, once the alert worker has won the shared claim (poll for it).

    >>> with capture_alerts() as alerts:
    ...     client.get("/boom")
    >>> [a.rule for a in alerts.alerts]
    ['new_error']
    """
    captured = CapturedAlerts()
    CAPTURES.append(captured.alerts)
    try:
        yield captured
    finally:
        CAPTURES[:] = [c for c in CAPTURES if c is not captured.alerts]


def breaker_for(pipeline: Pipeline, method: str, path: str) -> CircuitBreaker:
    """The circuit breaker guarding ``method path`` in ``pipeline`` (to force or inspect it)."""
    _, guard = pipeline.guards.for_path(method, path)
    breaker = None if guard is None else guard.engine.breaker
    if breaker is None:
        raise LookupError(f"no breaker guards {method} {path}")
    return breaker
