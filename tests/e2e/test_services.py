"""The services the tests start (Redis, Prometheus, Alertmanager) start, answer and stop."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.services import alertmanager, binary, prometheus, redis_server

pytestmark = pytest.mark.e2e


def test_redis_answers_ping_and_stops_with_the_block(tmp_path: Path) -> None:
    """A PING on the raw protocol gets PONG; the process is gone once the block ends."""
    with redis_server(tmp_path) as redis:
        with socket.create_connection((redis.host, redis.port), timeout=5) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16) == b"+PONG\r\n"
        process = redis.server.process
    assert process.poll() is not None


def test_prometheus_and_alertmanager_report_ready(tmp_path: Path) -> None:
    """Both APIs answer: Prometheus lists its configured target, Alertmanager has no alert."""
    (tmp_path / "p").mkdir()
    (tmp_path / "a").mkdir()
    with prometheus(tmp_path / "p", ["127.0.0.1:9"]) as prom, alertmanager(tmp_path / "a") as am:
        targets = prom.get_json("/api/v1/targets")
        assert isinstance(targets, dict)
        assert targets["status"] == "success"
        assert am.get_json("/api/v2/alerts") == []


def test_a_missing_binary_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under SEAWALL_REQUIRE_SERVICES=1 a missing service is a failure naming the package."""
    monkeypatch.setenv("SEAWALL_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install no-such-package"):
        binary("seawall-no-such-binary", "no-such-package")
    monkeypatch.delenv("SEAWALL_REQUIRE_SERVICES")
    with pytest.raises(pytest.skip.Exception, match="apt-get install no-such-package"):
        binary("seawall-no-such-binary", "no-such-package")
