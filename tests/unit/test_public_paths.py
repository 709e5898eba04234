"""Every import path the README documents still resolves after the move into subpackages."""

from __future__ import annotations

import importlib
import inspect

import pytest

DOCUMENTED = [
    "seawall.ASGIMiddleware",
    "seawall.WSGIMiddleware",
    "seawall.Settings",
    "seawall.SettingsError",
    "seawall.get_correlation_id",
    "seawall.redact",
    "seawall.Redactor",
    "seawall.policy",
    "seawall.Pipeline",
    "seawall.FallbackRequest",
    "seawall.FallbackResponse",
    "seawall.logging.configure",
    "seawall.logging.add_correlation_id",
    "seawall.logging.CorrelationIdFilter",
    "seawall.deadline.remaining",
    "seawall.timeouts.timeout",
    "seawall.threads.ContextThread",
    "seawall.threads.submit",
    "seawall.threads.run_in_executor",
    "seawall.testing.capture_logs",
    "seawall.testing.FakeClock",
    "seawall.testing.breaker_for",
    "seawall.guard.FallbackRequest",
    "seawall.guard.FallbackResponse",
    "seawall.pipeline.Pipeline",
    "seawall.events.subscribe",
    "seawall.events.BreakerStateChanged",
    "seawall.health.drain",
    "seawall.health.undrain",
    "seawall.metrics.exposition",
    "seawall.metrics.Metrics",
    "seawall.integrations.starlette.install",
    "seawall.integrations.fastapi.install",
    "seawall.integrations.fastapi.CorrelationId",
    "seawall.integrations.flask.Seawall",
    "seawall.integrations.django.SeawallMiddleware",
    "seawall.integrations.django.drf.exception_handler",
    "seawall.integrations.django.views.page_not_found",
    "seawall.integrations.django.views.bad_request",
    "seawall.integrations.django.views.permission_denied",
    "seawall.integrations.django.views.server_error",
]


@pytest.mark.parametrize("path", DOCUMENTED)
def test_documented_path_resolves(path: str) -> None:
    """The name is there, at the path the README gives, and it is the implementation's own."""
    module_path, _, name = path.rpartition(".")
    if module_path.startswith("seawall.integrations.django"):
        from tests import django_settings

        django_settings.setup()
    value = getattr(importlib.import_module(module_path), name)
    assert value is not None
    if isinstance(value, type) or inspect.isfunction(value):  # its home module has it too
        home = importlib.import_module(value.__module__)
        assert getattr(home, value.__name__) is value
