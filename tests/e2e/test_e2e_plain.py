"""End to end: the plain ASGI example under uvicorn and the WSGI example under gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.servers import Server, free_port, gunicorn_argv, serve, uvicorn_argv
from tests.e2e.traffic import mismatched_ids, slow_and_flaky
from tests.fake_secrets import API_KEY_BODY, EMAIL, EXAMPLE_PASSWORD

pytestmark = pytest.mark.e2e
SECRETS = (EXAMPLE_PASSWORD, API_KEY_BODY, EMAIL)


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp("uvicorn")) / "server.log"
    with serve(uvicorn_argv("examples.asgi_app:app", port), port, log) as server:
        yield server


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp("gunicorn")) / "server.log"
    with serve(gunicorn_argv("examples.wsgi_app:app", port), port, log) as server:
        yield server


@pytest.mark.parametrize("name", ["uvicorn_server", "gunicorn_server"])
def test_300_concurrent_requests_match_header_body_and_log(
    name: str, request: pytest.FixtureRequest
) -> None:
    """300 concurrent requests on a real server: 0 mismatches between header, body and log."""
    server: Server = request.getfixturevalue(name)
    ids = [f"e2e-{n}" for n in range(300)]
    mismatches = mismatched_ids(server, "/hello", ids, threads=32)

    def logged() -> list[str]:
        return sorted(
            e["correlation_id"]
            for e in server.json_events()
            if e.get("event") == "hello handled" and str(e.get("correlation_id")).startswith("e2e-")
        )

    server.wait_until(lambda: len(logged()) >= len(ids))
    assert mismatches == 0
    assert logged() == sorted(ids)


@pytest.mark.parametrize("name", ["uvicorn_server", "gunicorn_server"])
def test_failure_is_a_problem_and_the_server_log_has_no_secret(
    name: str, request: pytest.FixtureRequest
) -> None:
    """A failing route answers problem+json; the server's whole log holds no secret or traceback."""
    server: Server = request.getfixturevalue(name)
    response = httpx.get(
        f"{server.base_url}/boom", headers={"X-Request-ID": f"{name}-boom"}, timeout=10
    )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["correlation_id"] == f"{name}-boom"
    events = server.wait_for_events(
        lambda e: e.get("event") == "request_failed" and e.get("correlation_id") == f"{name}-boom"
    )
    assert len(events) == 1
    assert events[0]["error_id"] == response.json()["error_id"]
    log_text = server.log_path.read_text()
    for secret in SECRETS:
        assert secret not in log_text
        assert secret not in response.text
    assert "Traceback (most recent call last)" not in log_text


def test_streamed_wsgi_body_logs_with_the_id(gunicorn_server: Server) -> None:
    """Under gunicorn, lines logged while a body streams carry the request's id."""
    response = httpx.get(
        f"{gunicorn_server.base_url}/stream", headers={"X-Request-ID": "stream-1"}, timeout=10
    )
    assert response.text.splitlines() == [f"chunk {n} stream-1" for n in range(3)]
    chunks = gunicorn_server.wait_for_events(
        lambda e: (
            str(e.get("event", "")).startswith("chunk") and e.get("correlation_id") == "stream-1"
        )
    )
    assert len(chunks) == 3


def test_uvicorn_slow_route_times_out_and_breaker_opens(uvicorn_server: Server) -> None:
    """The slow route answers 504 at its timeout; failures open the flaky route's breaker."""
    slow, rejected = slow_and_flaky(uvicorn_server)
    assert slow.status_code == 504
    assert slow.elapsed.total_seconds() < 2
    assert rejected.status_code == 503
    assert int(rejected.headers["retry-after"]) >= 1
    assert rejected.json()["reason"] == "circuit_open"
    transitions = uvicorn_server.wait_for_events(
        lambda e: e.get("event") == "breaker_state_changed"
    )
    assert transitions[0]["new_state"] == "open"
