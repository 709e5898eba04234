"""``seawall breakers`` and ``seawall breaker``: against a real admin API and a real Redis."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from seawall.cli import main
from seawall.resilience.breaker import State
from seawall.server.pipeline import Pipeline
from seawall.state.shared import RedisState
from seawall.wsgi.middleware import WSGIMiddleware
from tests.services import Service, redis_server

TOKEN = "cli-admin-token"
ROUTE = "GET /items/{id}"
POLICY = {"breaker": {"minimum_calls": 2, "open_for": 30}}


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The test reads the command's output, not the server's access log."""


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


@pytest.fixture
def admin() -> Iterator[tuple[str, Pipeline]]:
    """A real HTTP server on 127.0.0.1 with the admin API; its URL and pipeline."""
    middleware = WSGIMiddleware(
        app, settings={"admin": {"token": TOKEN}, "routes": {ROUTE: POLICY}}
    )
    server: WSGIServer = make_server("127.0.0.1", 0, middleware, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/_seawall", middleware.pipeline
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Service]:
    with redis_server(tmp_path) as started:
        yield started


def test_breakers_over_the_admin_api_prints_a_table(
    admin: tuple[str, Pipeline], capsys: pytest.CaptureFixture[str]
) -> None:
    """A header row and one row per breaker, tab-separated when piped."""
    url, _ = admin
    assert main(["breakers", "--url", url, "--token", TOKEN]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["NAME", "STATE", "CALLS", "FAILURE_RATE", "OPEN_UNTIL"]
    assert lines[1].startswith(ROUTE)
    assert "closed" in lines[1]


def test_breaker_force_open_over_the_admin_api(
    admin: tuple[str, Pipeline],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The token from SEAWALL_ADMIN__TOKEN; the name with its spaces and slashes as typed."""
    url, pipeline = admin
    monkeypatch.setenv("SEAWALL_ADMIN__TOKEN", TOKEN)
    assert main(["breaker", "force-open", ROUTE, "--url", url]) == 0
    assert pipeline.breakers.named(ROUTE)[0].breaker.state is State.FORCED_OPEN
    assert "force_open (forced_open)" in capsys.readouterr().out
    assert main(["breakers", "--url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["state"] == "forced_open"
    assert main(["breaker", "reset", ROUTE, "--url", url]) == 0
    assert pipeline.breakers.named(ROUTE)[0].breaker.state is State.CLOSED


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["breakers", "--token", "wrong"], "401"),
        (["breaker", "close", "GET /nowhere", "--token", TOKEN], "404"),
    ],
)
def test_admin_api_refusals_exit_1_with_the_reason(
    admin: tuple[str, Pipeline], capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    url, _ = admin
    assert main([*argv, "--url", url]) == 1
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1


def test_an_unreachable_target_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens there: one line on stderr, exit status 1, for either target."""
    assert main(["breakers", "--url", "http://127.0.0.1:9/_seawall", "--timeout", "1"]) == 1
    assert "cannot reach" in capsys.readouterr().err
    assert main(["breaker", "reset", "x", "--redis", "redis://127.0.0.1:9/0"]) == 1
    assert "cannot use" in capsys.readouterr().err
    assert main(["breakers", "--redis", "http://127.0.0.1:9/0"]) == 1
    assert "bad --redis URL" in capsys.readouterr().err


def test_a_target_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["breakers"])
    assert exit_.value.code == 2
    assert "--url" in capsys.readouterr().err


def test_force_open_over_redis_reaches_running_and_later_workers(
    redis: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """--redis: every worker on the prefix is forced open, and so is one started later;
    ``breakers --redis`` lists it; reset ends it for all."""
    url = f"redis://{redis.host}:{redis.port}/0"
    settings = {
        "state": {"backend": "redis", "url": url, "timeout": 0.5},
        "routes": {ROUTE: POLICY},
    }
    running = Pipeline(settings)
    started: list[Pipeline] = [running]
    try:
        state = running.state
        assert isinstance(state, RedisState)
        assert wait_for(lambda: state.available)
        assert main(["breaker", "force-open", ROUTE, "--redis", url]) == 0
        assert wait_for(lambda: state_of(running) is State.FORCED_OPEN)
        started.append(later := Pipeline(settings))
        assert wait_for(lambda: state_of(later) is State.FORCED_OPEN)
        capsys.readouterr()
        assert main(["breakers", "--redis", url, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == [
            {"name": ROUTE, "state": "force_open", "open_until": None}
        ]
        assert main(["breaker", "reset", ROUTE, "--redis", url]) == 0
        assert wait_for(lambda: all(state_of(p) is State.CLOSED for p in started))
        capsys.readouterr()
        assert main(["breakers", "--redis", url]) == 0
        assert capsys.readouterr().out.split() == [
            "NAME",
            "STATE",
            "CALLS",
            "FAILURE_RATE",
            "OPEN_UNTIL",
        ]
    finally:
        for pipeline in started:
            pipeline.state.close()


def state_of(pipeline: Pipeline) -> State:
    return pipeline.breakers.named(ROUTE)[0].breaker.state


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Workers hear the channel on their own threads: poll, bounded."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_on_a_terminal_the_table_is_aligned(
    admin: tuple[str, Pipeline], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Columns padded with spaces, no tabs, no colour codes."""
    url, _ = admin
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["breakers", "--url", url, "--token", TOKEN]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()
    assert "\t" not in out
    assert "\x1b[" not in out
    assert row.index("closed") == header.index("STATE")
