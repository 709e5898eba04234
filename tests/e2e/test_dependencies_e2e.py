"""End to end: a real app under uvicorn calls a real failing dependency (another uvicorn)
through seawall's httpx transports: ids only where allowed, Retry-After followed, the breaker
opening into a 503 problem, and a 0.2 s deadline cutting a 2 s call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.servers import Server, free_port, serve, uvicorn_argv

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = Path(tmp_path_factory.mktemp("deps"))
    backend_port, front_port = free_port(), free_port()
    with (
        serve(uvicorn_argv("tests.e2e.dependency_backend:app", backend_port), backend_port,
              root / "backend.log"),
        serve(uvicorn_argv("tests.e2e.dependency_front:app", front_port), front_port,
              root / "front.log", env={"BACKEND_PORT": str(backend_port)}) as server,
    ):  # fmt: skip
        server.backend = f"http://127.0.0.1:{backend_port}"  # type: ignore[attr-defined]
        yield server


def test_correlation_id_reaches_only_the_allowed_host(front: Server) -> None:
    """The request's id goes to the dependency's host, not to a host nobody allowed."""
    response = httpx.get(f"{front.base_url}/ids", headers={"X-Request-ID": "e2e-ids-1"}, timeout=20)
    assert response.json() == {"allowed": "e2e-ids-1", "other": None}


def test_retries_follow_retry_after(front: Server) -> None:
    """A 503 with Retry-After: 1 is retried about a second later, and the retry succeeds."""
    response = httpx.get(f"{front.base_url}/flaky/ra1", timeout=20)
    assert response.json() == {"status": 200}
    times = httpx.get(f"{front.backend}/calls/ra1", timeout=10).json()  # type: ignore[attr-defined]
    assert len(times) == 2
    assert 0.9 <= times[1] - times[0] < 3.0


@pytest.mark.parametrize("path", ["/slow", "/slow-sync"])
def test_a_deadline_of_0_2_s_stops_a_2_s_call(front: Server, path: str) -> None:
    """Async (cancelled) and sync (timeouts shrunk) calls end at about 0.2 s, not 2 s."""
    elapsed = httpx.get(f"{front.base_url}{path}", timeout=20).json()["elapsed"]
    assert 0.15 <= elapsed < 1.0


def test_the_breaker_opens_into_a_503_problem_without_the_dependency_name(front: Server) -> None:
    """(Last in the module: the breaker stays open.) 500s open the breaker; then CircuitOpenError escapes the view and the client gets
    seawall's 503 problem with Retry-After, never the dependency's name."""
    statuses = []
    for _ in range(6):
        response = httpx.get(f"{front.base_url}/down", timeout=20)
        statuses.append(response.status_code)
        if response.status_code == 503:
            break
    assert statuses[0] == 200  # the view got the dependency's 500 as an answer
    assert statuses[-1] == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["type"].endswith("circuit_open")
    assert "backend" not in response.text
    assert "127.0.0.1" not in response.text
