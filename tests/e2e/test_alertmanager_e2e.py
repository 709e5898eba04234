"""End to end: a uvicorn app whose breaker opens shows up as an active alert in a real
Alertmanager's v2 API, and the alert is resolved when the breaker closes."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from examples.servers import free_port, serve, uvicorn_argv
from tests.services import Service, alertmanager

pytestmark = pytest.mark.e2e


def breaker_alerts(am: Service) -> list[dict[str, Any]]:
    alerts = am.get_json("/api/v2/alerts")
    assert isinstance(alerts, list)
    return [a for a in alerts if a["labels"].get("alertname") == "seawall_breaker_open"]


def poll(condition: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_breaker_open_is_an_active_alert_and_resolves_on_close(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    with alertmanager(tmp_path / "am") as am:
        port = free_port()
        env = {
            "EXAMPLE_ALERT_SINKS": json.dumps([{"type": "alertmanager", "url": am.url}]),
        }
        argv = uvicorn_argv("examples.asgi_app:app", port)
        with serve(argv, port, tmp_path / "app.log", env=env) as app:
            statuses = [get(f"{app.base_url}/flaky?fail=1") for _ in range(4)]
            assert statuses[-1] >= 500
            assert get(f"{app.base_url}/flaky") == 503  # open: refused
            active = poll(
                lambda: [a for a in breaker_alerts(am) if a["status"]["state"] == "active"]
            )
            assert active, app.log_lines()[-20:]
            alert = active[0]
            assert alert["labels"]["breaker"] == "GET /flaky"
            assert alert["labels"]["severity"] == "critical"  # the example marks it critical
            assert alert["annotations"]["summary"].startswith("breaker GET /flaky opened")
            assert alert["generatorURL"]
            # after open_for (2 s, with jitter) one probe succeeds and closes the breaker
            assert poll(lambda: get(f"{app.base_url}/flaky") == 200, timeout=20)
            assert poll(lambda: not breaker_alerts(am)), breaker_alerts(am)
            assert app.wait_for_events(lambda e: e.get("new_state") == "closed")
