"""Django rebuilds its pipeline when ``SEAWALL`` changes: the replaced one is closed, so
rebuilds leave no alert outbox, sampler or check pool behind."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests import django_settings
from tests.polling import settle

django_settings.setup()

from django.test import override_settings  # noqa: E402

from seawall.integrations.django.conf import get_runtime, install_pipeline  # noqa: E402
from seawall.observability.alerts.worker import worker  # noqa: E402
from seawall.server.pipeline import Pipeline  # noqa: E402


def database() -> bool:
    return True


SEAWALL: dict[str, Any] = {
    "alerts": {"sinks": [{"type": "log"}]},
    "health": {"checks": {"database": database}},
    "metrics": {"enabled": True},
}


def seawall_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("seawall-"))


def build_and_probe() -> Pipeline:
    """Build the pipeline of the current settings and start everything it can start."""
    pipeline = get_runtime().pipeline
    assert pipeline.health.checks.run()[0].status == "pass"  # the checks' pool thread
    return pipeline


def test_50_rebuilds_leave_no_thread_or_outbox_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each ``override_settings`` replaces the pipeline; after 50 the process has the threads
    and registered outboxes of one pipeline, as after the first."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # metrics sample in a thread
    with override_settings(SEAWALL=SEAWALL):
        first = build_and_probe()
        assert first.alerts.outbox in worker()._outboxes
        threads, outboxes = seawall_threads(), len(worker()._outboxes)
    built = [first]
    for n in range(50):
        with override_settings(SEAWALL={**SEAWALL, "correlation": {"max_length": 64 + n}}):
            built.append(build_and_probe())
            assert len(worker()._outboxes) == outboxes
    assert len({id(p) for p in built}) == 51
    assert not any(p.alerts.outbox in worker()._outboxes for p in built)
    assert settle(lambda: seawall_threads() <= threads - 2), [  # this one's sampler and pool too
        t.name for t in threading.enumerate()
    ]


def test_an_installed_pipeline_is_closed_when_replaced() -> None:
    """``install_pipeline`` closes the pipeline it replaces, never the one it installs."""
    mine = Pipeline(SEAWALL)
    install_pipeline(mine)
    install_pipeline(mine)  # the same again: still open
    assert mine.alerts.outbox in worker()._outboxes
    install_pipeline(None)
    assert mine.alerts.outbox not in worker()._outboxes
