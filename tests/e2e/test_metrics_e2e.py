"""Metrics with real parts: gunicorn with 3 workers, scraped by a real Prometheus server.

The app runs with the standard prometheus_client multiprocess set-up (an empty directory in
``PROMETHEUS_MULTIPROC_DIR``, a plain ``gunicorn -w 3``); one worker is killed half-way, and
PromQL's sum of the request counter must still equal the requests sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from examples.servers import BIN, free_port, serve
from tests.services import binary, prometheus

pytestmark = pytest.mark.e2e

REQUESTS = 60


def workers(master: int) -> set[int]:
    """The gunicorn master's live child processes."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def query(service_url: str, promql: str) -> float | None:
    """The single value of an instant PromQL query, or None when it has none yet."""
    url = f"{service_url}/api/v1/query?query={urllib.parse.quote(promql)}"
    answer = httpx.get(url, timeout=5).json()
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def poll(condition: object, timeout: float = 60.0) -> None:
    """Wait for ``condition()`` with a bounded deadline (Prometheus scrapes every second)."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        time.sleep(0.2)


def test_prometheus_sums_three_gunicorn_workers_exactly(tmp_path: Path) -> None:
    """Every request counts once across 3 workers and a restarted one; live gauges of the
    dead worker vanish; its files are merged; promtool accepts the exposition."""
    promtool = binary("promtool", "prometheus")
    binary("prometheus", "prometheus")
    files = tmp_path / "multiproc"
    files.mkdir()
    (tmp_path / "prom").mkdir()
    port = free_port()
    argv = [
        str(BIN / "gunicorn"), "examples.metrics_app:app", "--bind", f"127.0.0.1:{port}",
        "--workers", "3", "--worker-class", "sync",
    ]  # fmt: skip
    env = {"PROMETHEUS_MULTIPROC_DIR": str(files)}
    with serve(argv, port, tmp_path / "gunicorn.log", env=env) as server:
        poll(lambda: len(workers(server.process.pid)) == 3)
        with prometheus(tmp_path / "prom", [f"127.0.0.1:{port}"]) as prom:
            for n in range(REQUESTS // 2):
                with httpx.Client(base_url=server.base_url) as client:  # a new connection each
                    assert client.get(f"/items/{n}").status_code == 200
            victim = min(workers(server.process.pid))
            os.kill(victim, signal.SIGKILL)
            poll(lambda: victim not in workers(server.process.pid))
            poll(lambda: len(workers(server.process.pid)) == 3)
            for n in range(REQUESTS // 2, REQUESTS):
                with httpx.Client(base_url=server.base_url) as client:
                    assert client.get(f"/items/{n}").status_code == 200
            total = "sum(http_server_request_duration_seconds_count)"
            poll(lambda: query(prom.url, total) == REQUESTS)
            routed = 'sum(http_server_request_duration_seconds_count{http_route="/items/{id}"})'
            assert query(prom.url, routed) == REQUESTS
            assert query(prom.url, "sum(http_server_active_requests)") == 0
            assert query(prom.url, 'up{job="app"}') == 1
        exposition = httpx.get(f"{server.base_url}/metrics", timeout=5).content
    names = {p.name for p in files.iterdir()}
    assert not any(name.endswith(f"_{victim}.db") for name in names), names
    assert "histogram_merged.db" in names
    check = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert b"http_server_request_duration_seconds_count" in exposition
