"""Health endpoints: liveness, readiness with checks and breakers, details, caching, draining."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import seawall.health
from seawall.asgi.middleware import ASGIMiddleware
from seawall.clock import FakeClock
from seawall.config.settings import Settings, SettingsError
from seawall.observability.health_checks import CheckRunner
from seawall.server.pipeline import Pipeline
from seawall.testing import breaker_for
from seawall.wsgi.middleware import WSGIMiddleware
from tests.fake_secrets import API_KEY

TOKEN = "t0ken-for-health-details"


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"app"})


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [])
    return [b"app"]


def client(settings: dict[str, Any], clock: FakeClock | None = None) -> httpx.AsyncClient:
    pipeline = Pipeline(settings, clock=clock)
    middleware = ASGIMiddleware(app, pipeline=pipeline)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url="http://t")


def wsgi_client(settings: dict[str, Any]) -> httpx.Client:
    middleware = WSGIMiddleware(wsgi_app, settings)
    return httpx.Client(transport=httpx.WSGITransport(app=middleware), base_url="http://t")


def checks(**named: Any) -> dict[str, Any]:
    return {"health": {"checks": named}}


async def test_liveness_passes_and_runs_no_check() -> None:
    """``/health/live`` answers pass with health+json and never calls a check."""
    called: list[int] = []

    def database() -> bool:
        called.append(1)
        return False

    async with client(checks(database=database)) as c:
        live = await c.get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "pass"}
    assert live.headers["content-type"] == "application/health+json"
    assert called == []


async def test_readiness_interprets_each_kind_of_result() -> None:
    """None/True pass; False or raising fail; a dict gives its own status."""
    results: dict[str, Any] = {
        "none": lambda: None,
        "true": lambda: True,
        "dict": lambda: {"status": "warn", "observedValue": 3, "observedUnit": "conn"},
    }
    async with client(checks(**results)) as c:
        ready = await c.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "warn"})

    def broken() -> None:
        raise RuntimeError(f"connect failed with key {API_KEY}")

    for failing in (lambda: False, broken, lambda: {"status": "nope"}, lambda: 42):
        async with client(checks(ok=lambda: True, bad=failing)) as c:
            ready = await c.get("/health/ready")
        assert (ready.status_code, ready.json()) == (503, {"status": "fail"})


async def test_details_show_outputs_only_when_allowed_and_never_exception_text() -> None:
    """``never`` hides outputs, ``always`` shows them (redacted), an exception by class only."""

    def broken() -> None:
        raise RuntimeError(f"connect failed with key {API_KEY}")

    def pool() -> dict[str, Any]:
        return {"status": "pass", "observedValue": 7, "output": f"key {API_KEY} used"}

    named = {"database": broken, "pool": pool}
    async with client(checks(**named)) as c:
        hidden = (await c.get("/health")).json()
    assert hidden["status"] == "fail"
    assert set(hidden["checks"]["database"][0]) == {"status", "time"}
    assert hidden["checks"]["pool"][0]["status"] == "pass"
    assert "observedValue" not in hidden["checks"]["pool"][0]

    async with client({"health": {"checks": named, "details": "always"}}) as c:
        shown = await c.get("/health")
    assert shown.status_code == 503
    body = shown.json()
    assert body["checks"]["database"][0]["output"] == "RuntimeError"
    assert body["checks"]["pool"][0]["observedValue"] == 7
    assert API_KEY not in shown.text
    assert body["checks"]["pool"][0]["output"].startswith("key ")


async def test_token_details_need_the_admin_bearer_token() -> None:
    """``details: token`` shows outputs to callers with the admin token only."""
    settings = {
        "admin": {"token": TOKEN},
        "health": {
            "checks": {"db": lambda: {"status": "fail", "output": "replica lag"}},
            "details": "token",
        },
    }
    async with client(settings) as c:
        anonymous = (await c.get("/health")).json()
        wrong = (await c.get("/health", headers={"Authorization": "Bearer nope"})).json()
        admin = await c.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "output" not in anonymous["checks"]["db"][0]
    assert "output" not in wrong["checks"]["db"][0]
    assert admin.json()["checks"]["db"][0] == {
        "status": "fail", "time": admin.json()["checks"]["db"][0]["time"], "output": "replica lag"
    }  # fmt: skip


def test_token_details_without_a_token_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """``details: token`` with no admin token anywhere names the key; the env var supplies one."""
    monkeypatch.delenv("SEAWALL_ADMIN__TOKEN", raising=False)
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping({"health": {"details": "token"}})
    assert info.value.path == "health.details"
    monkeypatch.setenv("SEAWALL_ADMIN__TOKEN", TOKEN)
    settings = Settings.from_mapping({"health": {"details": "token"}})
    assert settings.admin.token == TOKEN


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"health": {"timeout": 0}}, "health.timeout"),
        ({"health": {"details": "sometimes"}}, "health.details"),
        ({"health": {"checks": {"db": 3}}}, "health.checks.db"),
        ({"health": {"checks": {"db": "no.such.module.check"}}}, "health.checks.db"),
        ({"health": {"checks": ["db"]}}, "health.checks"),
        ({"health": {"path": "health"}}, "health.path"),
        ({"health": {"path": "/health/"}}, "health.path"),
        ({"health": {"cache_for": -1}}, "health.cache_for"),
        ({"health": {"tiemout": 1}}, "health.tiemout"),
        ({"admin": {"path": "/a?b"}}, "admin.path"),
    ],
)
def test_bad_health_settings_name_the_key(data: dict[str, Any], path: str) -> None:
    """Every bad health or admin setting raises a SettingsError naming its path."""
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(data)
    assert info.value.path == path


async def test_checks_resolve_from_dotted_paths_and_health_can_be_switched_off() -> None:
    """A dotted path is imported at start-up; ``path: None`` serves no health endpoints."""
    async with client(checks(db="tests.unit.test_health.dotted_check")) as c:
        assert (await c.get("/health/ready")).json() == {"status": "pass"}
    async with client({"health": {"path": None}}) as c:
        assert (await c.get("/health/live")).text == "app"


def dotted_check() -> bool:
    return True


async def test_open_breakers_warn_and_critical_ones_fail() -> None:
    """An open breaker warns; on a ``critical`` route it fails readiness with 503."""
    breaker = {"breaker": {"minimum_calls": 5}}
    settings = {"routes": {"GET /a": breaker, "GET /b": {**breaker, "critical": True}}}
    pipeline = Pipeline(settings)
    middleware = ASGIMiddleware(app, pipeline=pipeline)
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/health/ready")).json() == {"status": "pass"}
        breaker_for(pipeline, "GET", "/a").force_open()
        assert (await c.get("/health/ready")).status_code == 200
        assert (await c.get("/health/ready")).json() == {"status": "warn"}
        breaker_for(pipeline, "GET", "/b").force_open()
        ready = await c.get("/health/ready")
        report = (await c.get("/health")).json()
    assert (ready.status_code, ready.json()) == (503, {"status": "fail"})
    entries = {e["componentId"]: e for e in report["checks"]["breakers"]}
    assert entries["GET /a"]["status"] == "warn"
    assert entries["GET /b"]["status"] == "fail"
    assert entries["GET /b"]["componentType"] == "route"


async def test_draining_fails_readiness_but_not_liveness() -> None:
    """After drain() readiness answers 503 fail; liveness still passes; undrain() restores."""
    pipeline = Pipeline({})
    middleware = ASGIMiddleware(app, pipeline=pipeline)
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        seawall.health.drain()
        try:
            ready = await c.get("/health/ready")
            live = await c.get("/health/live")
        finally:
            seawall.health.undrain()
        assert (ready.status_code, ready.json()) == (503, {"status": "fail"})
        assert live.status_code == 200
        pipeline.health.drain()
        assert (await c.get("/health/ready")).status_code == 503
        pipeline.health.undrain()
        assert (await c.get("/health/ready")).status_code == 200


async def test_results_are_cached_for_cache_for_and_failure_cache_for() -> None:
    """A pass is reused for ``cache_for`` seconds, a failure for ``failure_cache_for``."""
    clock = FakeClock()
    calls: list[bool] = []
    outcome = [True]

    def db() -> bool:
        calls.append(outcome[0])
        return outcome[0]

    settings = {"health": {"checks": {"db": db}, "cache_for": 5, "failure_cache_for": 1}}
    async with client(settings, clock) as c:
        await c.get("/health/ready")
        outcome[0] = False
        clock.advance(4.9)
        assert (await c.get("/health/ready")).status_code == 200  # cached pass
        assert len(calls) == 1
        clock.advance(0.2)
        assert (await c.get("/health/ready")).status_code == 503
        outcome[0] = True
        clock.advance(0.9)
        assert (await c.get("/health/ready")).status_code == 503  # cached failure
        clock.advance(0.2)
        assert (await c.get("/health/ready")).status_code == 200
    assert len(calls) == 3


async def test_200_concurrent_async_probes_run_each_check_once() -> None:
    """Probes arriving during a run share it: each check runs once for all of them."""
    counts = {"sync": 0, "async": 0}
    release = asyncio.Event()

    def plain() -> bool:
        counts["sync"] += 1
        return True

    async def coroutine() -> bool:
        counts["async"] += 1
        await release.wait()
        return True

    settings = {"health": {"checks": {"plain": plain, "coroutine": coroutine}, "cache_for": 0}}
    async with client(settings) as c:
        probes = [asyncio.create_task(c.get("/health/ready")) for _ in range(200)]
        await asyncio.sleep(0.05)
        release.set()
        answers = await asyncio.gather(*probes)
    assert {a.status_code for a in answers} == {200}
    assert counts == {"sync": 1, "async": 1}


def test_200_concurrent_thread_probes_run_each_check_once() -> None:
    """The same under WSGI: 200 threads probing at once share one run."""
    counts = {"sync": 0, "async": 0}
    entered = threading.Event()
    release = threading.Event()

    def plain() -> bool:
        counts["sync"] += 1
        entered.set()
        release.wait(10)
        return True

    async def coroutine() -> bool:
        counts["async"] += 1
        return True

    runner = CheckRunner(
        (("plain", plain), ("coroutine", coroutine)), timeout=10, cache_for=0, failure_cache_for=0
    )
    with ThreadPoolExecutor(200) as pool:
        futures = [pool.submit(runner.run) for _ in range(200)]
        assert entered.wait(10)
        time.sleep(0.1)  # let the other threads reach the shared run
        release.set()
        results = [f.result(10) for f in futures]
    assert all(r[0].status == "pass" for r in results)
    assert counts == {"sync": 1, "async": 1}


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
async def test_a_hung_check_never_holds_the_probe_past_its_timeout(kind: str) -> None:
    """A check that never returns fails at ``timeout``: the probe answers within it + 0.1 s
    (asserted with a bound generous for a loaded machine), and a hung thread is not restarted."""
    stop = threading.Event()
    started: list[int] = []

    def hung_plain() -> None:
        started.append(1)
        stop.wait(30)

    async def hung_async() -> None:
        await asyncio.sleep(30)

    settings = {
        "health": {
            "checks": {"plain": hung_plain, "coroutine": hung_async},
            "timeout": 0.2,
            "failure_cache_for": 0,
            "details": "always",
        }
    }
    try:
        for _ in range(2):
            begin = time.monotonic()
            if kind == "asgi":
                async with client(settings) as c:
                    answer = await c.get("/health")
            else:
                with wsgi_client(settings) as w:
                    answer = w.get("/health")
            elapsed = time.monotonic() - begin
            assert answer.status_code == 503
            assert elapsed < 0.2 + 0.1 + 1.0, elapsed
            outputs = {k: v[0]["output"] for k, v in answer.json()["checks"].items()}
            assert outputs == {
                "plain": "timed out after 0.2 s",
                "coroutine": "timed out after 0.2 s",
            }
    finally:
        stop.set()
    assert len(started) == 2  # one per pipeline: each app's runner started it once


async def test_a_hung_plain_check_is_not_started_again_while_it_hangs() -> None:
    """While a plain check's earlier run still holds its thread, the next run fails it at once."""
    stop = threading.Event()
    started: list[int] = []

    def hung() -> None:
        started.append(1)
        stop.wait(30)

    runner = CheckRunner((("db", hung),), timeout=0.1, cache_for=0, failure_cache_for=0)
    try:
        first = await runner.arun()
        begin = time.monotonic()
        second = await runner.arun()
        assert time.monotonic() - begin < 0.1 + 1.0
    finally:
        stop.set()
    assert first[0].status == second[0].status == "fail"
    assert started == [1]


def test_wsgi_probes_run_async_checks_too() -> None:
    """Under WSGI an async check runs on a loop of the probe's own."""

    async def ok() -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"status": "pass", "observedValue": 1}

    with wsgi_client({"health": {"checks": {"ok": ok}, "details": "always"}}) as w:
        report = w.get("/health").json()
        head = w.head("/health/ready")
    assert report["checks"]["ok"][0]["observedValue"] == 1
    assert (head.status_code, head.content) == (200, b"")


async def test_an_unknown_health_path_is_404_and_other_methods_405() -> None:
    """Only live, ready and the report exist under the health path; GET and HEAD only."""
    async with client({}) as c:
        assert (await c.get("/health/other")).status_code == 404
        assert (await c.post("/health/ready")).status_code == 405
        assert (await c.get("/healthz")).text == "app"
