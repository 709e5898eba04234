"""Real services for the tests: Redis, Prometheus and Alertmanager from Debian's packages.

Each starts on a free 127.0.0.1 port with its own temporary directory and is stopped by its PID
when the block ends. A missing binary skips the test with the package to install, unless
``SEAWALL_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where it fails the run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from examples.servers import Server, free_port, serve

__all__ = ["Service", "alertmanager", "binary", "prometheus", "redis_server"]


@dataclass
class Service:
    """A started service: where it listens and the server process behind it."""

    host: str
    port: int
    server: Server

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def get_json(self, path: str) -> object:
        """GET ``path`` on the service's HTTP API and decode the JSON answer."""
        with urllib.request.urlopen(self.url + path, timeout=5) as answer:
            return json.loads(answer.read())


def binary(name: str, package: str) -> str:
    """The path of ``name``; skip (or fail under ``SEAWALL_REQUIRE_SERVICES=1``) when absent."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: apt-get install {package}"
        if os.environ.get("SEAWALL_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextmanager
def redis_server(directory: Path, port: int | None = None) -> Iterator[Service]:
    """A ``redis-server`` without persistence; its URL is ``redis://127.0.0.1:PORT/0``
    (``port``: a given one, to restart a server where its clients look for it)."""
    path = binary("redis-server", "redis-server")
    port = free_port() if port is None else port
    argv = [
        path, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--save", "", "--appendonly", "no", "--protected-mode", "yes",
    ]  # fmt: skip
    with serve(argv, port, directory / "redis.log") as server:
        yield Service("127.0.0.1", port, server)


@contextmanager
def prometheus(
    directory: Path, targets: Sequence[str], *, scrape_interval: str = "1s"
) -> Iterator[Service]:
    """A Prometheus server scraping ``targets`` (``host:port``) every ``scrape_interval``."""
    path = binary("prometheus", "prometheus")
    port = free_port()
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n"
        f"  scrape_interval: {scrape_interval}\n"
        f"  evaluation_interval: {scrape_interval}\n"
        "scrape_configs:\n"
        "  - job_name: app\n"
        f"    static_configs:\n      - targets: {json.dumps(list(targets))}\n",
        encoding="utf-8",
    )
    argv = [
        path, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]  # fmt: skip
    with serve(argv, port, directory / "prometheus.log") as server:
        service = Service("127.0.0.1", port, server)
        _wait_ready(service, "/-/ready")
        yield service


@contextmanager
def alertmanager(directory: Path) -> Iterator[Service]:
    """An Alertmanager with one receiver that sends nothing, clustering off."""
    path = binary("prometheus-alertmanager", "prometheus-alertmanager")
    port = free_port()
    config = directory / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: quiet\n  group_wait: 0s\n  group_interval: 1s\n"
        "receivers:\n  - name: quiet\n",
        encoding="utf-8",
    )
    argv = [
        path, f"--config.file={config}", f"--storage.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ]  # fmt: skip
    with serve(argv, port, directory / "alertmanager.log") as server:
        service = Service("127.0.0.1", port, server)
        _wait_ready(service, "/-/ready")
        yield service


def _wait_ready(service: Service, path: str, timeout: float = 30.0) -> None:
    """Listening is not ready: poll the service's readiness endpoint, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(service.url + path, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.url} not ready:\n{service.server.log_lines()[-20:]}")
        time.sleep(0.05)
