"""The example Django project on real servers: gunicorn (WSGI) and uvicorn (ASGI) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.servers import Server, free_port, gunicorn_argv, serve, uvicorn_argv
from tests.e2e.traffic import mismatched_ids
from tests.fake_secrets import API_KEY, EMAIL, EXAMPLE_PASSWORD

pytestmark = pytest.mark.e2e

ENV = {"DJANGO_SETTINGS_MODULE": "examples.django_project.settings"}
SECRETS = (EXAMPLE_PASSWORD, API_KEY, EMAIL)
SERVERS = {
    "gunicorn": lambda port: gunicorn_argv("examples.django_project.wsgi:application", port),
    "uvicorn": lambda port: uvicorn_argv("examples.django_project.asgi:application", port),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    port = free_port()
    log_path = Path(tmp_path_factory.mktemp("django")) / "server.log"
    with serve(SERVERS[request.param](port), port, log_path, env=ENV) as running:
        yield running


@pytest.mark.parametrize("route", ["/hello", "/async-hello"])
def test_concurrent_requests_keep_their_ids(server: Server, route: str) -> None:
    """100 concurrent requests with distinct ids: 0 mismatches in header, body and log line."""
    ids = [f"e2e{route.replace('/', '-')}-{n}" for n in range(100)]
    mismatches = mismatched_ids(server, route, ids, threads=16)
    assert mismatches == 0
    wanted = set(ids)

    def logged() -> list[str]:
        return [
            e["correlation_id"]
            for e in server.json_events()
            if "hello handled" in str(e.get("event")) and e.get("correlation_id") in wanted
        ]

    assert server.wait_until(lambda: len(logged()) >= len(ids))
    assert sorted(logged()) == sorted(ids)


def test_500_has_no_secret_in_response_or_server_log(server: Server) -> None:
    """/boom: a problem response and one sanitized event; no secret anywhere in the server log."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        response = client.get("/boom")
    body = response.json()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    events = server.wait_for_events(lambda e: e.get("error_id") == body["error_id"])
    assert [e["event"] for e in events] == ["request_failed"]
    assert events[0]["correlation_id"] == response.headers["x-request-id"]
    log_text = server.log_path.read_text()
    for secret in SECRETS:
        assert secret not in response.text
        assert secret not in log_text
    assert "Traceback" not in log_text


def test_drf_validation_error_is_a_problem(server: Server) -> None:
    """The DRF endpoint answers invalid input with a 400 problem listing the fields."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        response = client.post("/api/items", json={"name": "", "quantity": 0})
    body = response.json()
    assert response.status_code == 400
    assert {e["field"] for e in body["errors"]} == {"name", "quantity"}
    assert body["correlation_id"] == response.headers["x-request-id"]


def test_unknown_url_is_a_404_problem(server: Server) -> None:
    """An unknown path gets a 404 problem with the correlation id."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        response = client.get("/nowhere", headers={"X-Request-ID": "e2e-404"})
    assert response.status_code == 404
    assert response.json()["correlation_id"] == "e2e-404"
