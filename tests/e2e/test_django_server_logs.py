"""The example Django project on real servers: the id on access log lines (runserver's
``django.server``, ``gunicorn.access``, ``uvicorn.access``) and on the log lines of chunks a
plain generator streams under ASGI; the ``DEBUG`` page of runserver shows no secret."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.servers import ROOT, Server, free_port, gunicorn_argv, serve, uvicorn_argv
from tests.fake_secrets import API_KEY, EMAIL, EXAMPLE_PASSWORD

pytestmark = pytest.mark.e2e

ENV = {"DJANGO_SETTINGS_MODULE": "examples.django_project.settings"}
SERVERS = {
    "runserver": lambda port: [
        sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload",
    ],
    "gunicorn": lambda port: gunicorn_argv(
        "examples.django_project.wsgi:application", port, "--access-logfile", "-"
    ),
    "uvicorn": lambda port: uvicorn_argv("examples.django_project.asgi:application", port),
}  # fmt: skip
ACCESS_LOGGER = {
    "runserver": "django.server",
    "gunicorn": "gunicorn.access",
    "uvicorn": "uvicorn.access",
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Server]]:
    port = free_port()
    log_path = Path(tmp_path_factory.mktemp("django_logs")) / "server.log"
    with serve(SERVERS[request.param](port), port, log_path, env=ENV) as running:
        yield request.param, running


def test_access_lines_carry_the_requests_id(server: tuple[str, Server]) -> None:
    """Each of 20 requests' access line has its own id, as the response header does."""
    name, running = server
    ids = [f"access-{name}-{n}" for n in range(20)]
    with httpx.Client(base_url=running.base_url, timeout=10) as client:
        for cid in ids:
            assert (
                client.get("/hello", headers={"X-Request-ID": cid}).headers["x-request-id"] == cid
            )

    def access_ids() -> list[str]:
        return [
            str(e.get("correlation_id"))
            for e in running.json_events()
            if e.get("logger") == ACCESS_LOGGER[name] and str(e.get("correlation_id")) in ids
        ]

    assert running.wait_until(lambda: len(access_ids()) >= len(ids)), running.log_lines()[-5:]
    assert sorted(access_ids()) == sorted(ids)


def test_streamed_chunks_log_with_the_id(server: tuple[str, Server]) -> None:
    """A plain generator's chunks (under ASGI too) log with the id and stream it."""
    _, running = server
    with httpx.Client(base_url=running.base_url, timeout=10) as client:
        response = client.get("/stream", headers={"X-Request-ID": "stream-e2e"})
    assert response.text == "stream-e2e\n" * 3
    chunks = running.wait_for_events(
        lambda e: e.get("event") == "chunk streamed" and e.get("correlation_id") == "stream-e2e"
    )
    assert running.wait_until(
        lambda: len([e for e in running.json_events() if e.get("event") == "chunk streamed"
                     and e.get("correlation_id") == "stream-e2e"]) == 3
    ), chunks  # fmt: skip
    unlabelled = [
        e for e in running.json_events() if e.get("event") == "chunk streamed"
        and e.get("correlation_id") is None
    ]  # fmt: skip
    assert unlabelled == []


@pytest.fixture(scope="module")
def debug_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """runserver with ``DEBUG = True`` and seawall's exception reporter filter and reporter."""
    where = tmp_path_factory.mktemp("debug_settings")
    (where / "debug_settings.py").write_text(
        "from examples.django_project.settings import *  # noqa: F403\nDEBUG = True\n"
    )
    port = free_port()
    env = {"DJANGO_SETTINGS_MODULE": "debug_settings", "PYTHONPATH": f"{ROOT}:{where}"}
    argv = SERVERS["runserver"](port)
    with serve(argv, port, where / "server.log", env=env) as running:
        yield running


def test_runserver_debug_page_shows_no_secret(debug_server: Server) -> None:
    """A browser's technical 500 page under runserver with DEBUG: no password, key or e-mail."""
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    with httpx.Client(base_url=debug_server.base_url, timeout=10) as client:
        response = client.get(f"/boom?api_key={API_KEY}", headers=browser)
    assert response.status_code == 500
    assert "Local vars" in response.text  # Django's technical page
    assert "RuntimeError" in response.text
    for secret in (EXAMPLE_PASSWORD, API_KEY, EMAIL):
        assert secret not in response.text
