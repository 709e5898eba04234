"""End to end: Flask under gunicorn and Django under gunicorn serve readiness and the admin
API with a token; ``seawall breakers --url`` lists the breakers of a real uvicorn app."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from examples.servers import Server, free_port, gunicorn_argv, serve, uvicorn_argv

pytestmark = pytest.mark.e2e
TOKEN = "e2e-admin-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SERVERS: dict[str, tuple[Callable[[int], list[str]], dict[str, str], str, str]] = {
    "flask": (
        lambda port: gunicorn_argv("tests.e2e.operational_apps:create_flask()", port),
        {},
        "GET /flaky",
        "/flaky",
    ),
    "django": (
        lambda port: gunicorn_argv("examples.django_project.wsgi:application", port),
        {"DJANGO_SETTINGS_MODULE": "tests.e2e.django_admin_settings"},
        "GET flaky",
        "/flaky",
    ),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def framework(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str, str]]:
    argv, env, name, path = SERVERS[request.param]
    port = free_port()
    log = Path(tmp_path_factory.mktemp(request.param)) / "server.log"
    with serve(argv(port), port, log, env={"ADMIN_TOKEN": TOKEN, **env}) as running:
        yield running, name, path


def test_readiness_and_the_admin_api_answer_with_the_token(
    framework: tuple[Server, str, str],
) -> None:
    """``/health/ready`` passes; the admin API refuses a wrong token, lists the breaker, and
    a force_open through it makes the route answer 503 until reset."""
    server, name, path = framework
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        ready = client.get("/health/ready")
        assert (ready.status_code, ready.json()) == (200, {"status": "pass"})
        assert ready.headers["content-type"] == "application/health+json"
        wrong = client.get("/_seawall/breakers", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        listed = client.get("/_seawall/breakers", headers=AUTH).json()["breakers"]
        assert [b["name"] for b in listed] == [name]
        action = f"/_seawall/breakers/{quote(name, safe='')}"
        assert client.post(f"{action}/force_open", headers=AUTH).status_code == 200
        assert client.get(path).status_code == 503
        report = client.get("/health").json()
        assert report["checks"]["breakers"][0]["status"] == "warn"
        assert client.post(f"{action}/reset", headers=AUTH).status_code == 200
        assert client.get(path).status_code == 200


def test_seawall_breakers_lists_a_uvicorn_apps_breakers(tmp_path: Path) -> None:
    """``seawall breakers --url ... --token ...`` against uvicorn prints the breaker's row;
    ``--json`` gives its state."""
    port = free_port()
    argv = uvicorn_argv("tests.e2e.operational_apps:create_asgi", port, "--factory")
    with serve(argv, port, tmp_path / "server.log", env={"ADMIN_TOKEN": TOKEN}) as server:
        target = ["--url", f"{server.base_url}/_seawall", "--token", TOKEN]
        command = [sys.executable, "-m", "seawall.cli", "breakers", *target]
        table = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        assert table.returncode == 0, table.stderr
        assert "GET /flaky" in table.stdout
        assert "closed" in table.stdout
        as_json = subprocess.run(
            [*command, "--json"], capture_output=True, text=True, timeout=30, check=False
        )
        assert as_json.returncode == 0, as_json.stderr
        assert '"name": "GET /flaky"' in as_json.stdout
        refused = subprocess.run(
            [*command[:-1], "wrong"], capture_output=True, text=True, timeout=30, check=False
        )
        assert refused.returncode == 1
