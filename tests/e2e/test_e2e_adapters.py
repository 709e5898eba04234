"""End to end: the FastAPI example under uvicorn and the Flask example under gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.servers import Server, free_port, gunicorn_argv, serve, uvicorn_argv
from tests.e2e.traffic import mismatched_ids, slow_and_flaky
from tests.fake_secrets import EXAMPLE_PASSWORD

pytestmark = pytest.mark.e2e
SERVERS = {
    "fastapi": lambda port: uvicorn_argv("examples.fastapi_app:app", port),
    "flask": lambda port: gunicorn_argv("examples.flask_app:app", port),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp(request.param)) / "server.log"
    with serve(SERVERS[request.param](port), port, log) as running:
        yield running


def test_100_concurrent_requests_never_mix_ids(server: Server) -> None:
    """Header, body and log line carry the same id for each of 100 concurrent requests."""
    ids = [f"adapter-{n}" for n in range(100)]
    mismatches = mismatched_ids(server, "/hello", ids, threads=20)

    def logged() -> set[str]:
        return {
            str(e.get("correlation_id"))
            for e in server.json_events()
            if e.get("event") == "hello handled"
        }

    server.wait_until(lambda: set(ids) <= logged())
    assert mismatches == 0
    assert set(ids) <= logged()


def test_failures_and_framework_errors_are_problems(server: Server) -> None:
    """A 500 and a 404 are problem+json with the id; the server log holds no secret."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        failed = client.get("/boom", headers={"X-Request-ID": "e2e-boom"})
        missing = client.get("/nowhere", headers={"X-Request-ID": "e2e-404"})
    assert failed.status_code == 500
    assert missing.status_code == 404
    for response, cid in ((failed, "e2e-boom"), (missing, "e2e-404")):
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["correlation_id"] == cid == response.headers["x-request-id"]
    events = server.wait_for_events(
        lambda e: e.get("event") == "request_failed" and e.get("correlation_id") == "e2e-boom"
    )
    assert len(events) == 1
    text = server.log_path.read_text()
    assert EXAMPLE_PASSWORD not in text
    assert "Traceback (most recent call last)" not in text


def test_slow_route_answers_504_and_breaker_rejects(server: Server) -> None:
    """The slow route is cut at its timeout; the flaky route's breaker opens after failures."""
    slow, rejected = slow_and_flaky(server)
    assert slow.status_code == 504
    assert slow.elapsed.total_seconds() < 2
    assert rejected.status_code == 503
    assert rejected.json()["reason"] == "circuit_open"
