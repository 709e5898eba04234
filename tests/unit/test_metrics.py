"""Prometheus metrics: names and labels as documented, bounded labels, events, levels, files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import seawall.metrics
from seawall.asgi.middleware import ASGIMiddleware
from seawall.config.settings import Settings, SettingsError
from seawall.guard import FallbackRequest
from seawall.observability.metric_files import alive, compact
from seawall.server.pipeline import Pipeline
from seawall.testing import breaker_for
from seawall.wsgi.middleware import WSGIMiddleware

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
ON = {"metrics": {"enabled": True}}


def samples(text: str) -> Samples:
    """Every sample of an exposition by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def count(found: Samples, method: str, route: str, status: str) -> float:
    labels = (
        ("http_request_method", method),
        ("http_response_status_code", status),
        ("http_route", route),
    )
    return found.get(("http_server_request_duration_seconds_count", labels), 0.0)


release = asyncio.Event()


async def app(scope: Any, receive: Any, send: Any) -> None:
    path = scope["path"]
    if path == "/boom/1":
        raise RuntimeError("boom")
    if path == "/wait":
        await release.wait()
    status = 404 if path == "/missing" else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def asgi_client(settings: dict[str, Any]) -> tuple[Pipeline, httpx.AsyncClient]:
    pipeline = Pipeline(settings)
    middleware = ASGIMiddleware(app, pipeline=pipeline)
    transport = httpx.ASGITransport(app=middleware, raise_app_exceptions=False)
    return pipeline, httpx.AsyncClient(transport=transport, base_url="http://t")


def refuse(request: FallbackRequest) -> dict[str, str]:
    return {"served": "fallback"}


ROUTES = {
    **ON,
    "routes": {
        "GET /items/{id}": {},
        "GET /boom/{id}": {"breaker": {"minimum_calls": 2, "failure_rate": 0.5}},
        "GET /fallback": {"breaker": True, "fallback": "tests.unit.test_metrics.refuse"},
        "GET /wait": {"max_concurrency": 1},
    },
}


async def test_request_durations_by_method_route_template_and_status() -> None:
    """Raw paths collapse to their template; no template means ``(unmatched)``; odd methods
    are ``_OTHER``; the health and metrics endpoints are not counted."""
    _, c = asgi_client(ROUTES)
    async with c:
        for n in range(3):
            await c.get(f"/items/{n}")
        await c.get("/missing")
        for method in ("BREW", "PROPFIND", "X-ANY"):
            await c.request(method, "/items/1")
        await c.get("/health/ready")
        await c.get("/metrics")
        text = (await c.get("/metrics")).text
    found = samples(text)
    assert count(found, "GET", "/items/{id}", "200") == 3
    assert count(found, "GET", "(unmatched)", "404") == 1
    assert count(found, "_OTHER", "(unmatched)", "200") == 3
    assert not any("health" in str(k) or "/metrics" in str(k) for k in found)
    active = ("http_server_active_requests", (("http_route", "/items/{id}"),))
    assert found[active] == 0


async def test_active_requests_count_requests_in_flight() -> None:
    """``http_server_active_requests`` rises while a request runs and falls when it ends."""
    release.clear()
    pipeline, c = asgi_client(ROUTES)
    async with c:
        waiting = asyncio.create_task(c.get("/wait"))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if pipeline.metrics and pipeline.metrics.route("/wait").active == 1:
                break
        during = samples((await c.get("/metrics")).text)
        release.set()
        await waiting
        after = samples((await c.get("/metrics")).text)
    key = ("http_server_active_requests", (("http_route", "/wait"),))
    bulkhead = ("seawall_bulkhead_active", (("bulkhead", "GET /wait"),))
    assert (during[key], after[key]) == (1, 0)
    assert (during[bulkhead], after[bulkhead]) == (1, 0)
    assert after[("seawall_bulkhead_queued", (("bulkhead", "GET /wait"),))] == 0


async def test_decisions_are_counted_from_events() -> None:
    """Errors by classification, rejections by reason, breaker states and transitions,
    fallbacks by outcome."""
    pipeline, c = asgi_client(ROUTES)
    async with c:
        for _ in range(2):
            await c.get("/boom/1")
        refused = await c.get("/boom/2")
        breaker_for(pipeline, "GET", "/fallback").force_open()
        served = await c.get("/fallback")
        found = samples((await c.get("/metrics")).text)
    assert refused.status_code == 503
    assert served.json() == {"served": "fallback"}
    assert found[("seawall_errors_total", (("classification", "unknown"), ("http_route", "/boom/{id}")))] == 2  # fmt: skip
    assert found[("seawall_rejections_total", (("http_route", "/boom/{id}"), ("reason", "circuit_open")))] == 1  # fmt: skip
    transition = (("breaker", "GET /boom/{id}"), ("from_state", "closed"), ("to_state", "open"))
    assert found[("seawall_breaker_transitions_total", transition)] == 1
    states = {
        labels[1][1]: value
        for (name, labels), value in found.items()
        if name == "seawall_breaker_state" and labels[0] == ("breaker", "GET /boom/{id}")
    }
    assert states == {
        "closed": 0, "open": 1, "half_open": 0, "forced_open": 0, "disabled": 0, "metrics_only": 0
    }  # fmt: skip
    forced = ("seawall_breaker_state", (("breaker", "GET /fallback"), ("state", "forced_open")))
    assert found[forced] == 1
    fallback = (("http_route", "/fallback"), ("outcome", "served"), ("reason", "circuit_open"))
    assert found[("seawall_fallbacks_total", fallback)] == 1


def test_apps_in_one_process_have_registries_of_their_own() -> None:
    """Many pipelines with metrics in one process never raise duplicated-timeseries errors."""
    pipelines = [Pipeline(ON) for _ in range(5)]
    registries = {id(p.metrics.registry) for p in pipelines if p.metrics is not None}
    assert len(registries) == 5
    assert Pipeline({}).metrics is None


def test_buckets_come_from_the_settings() -> None:
    """``buckets`` sets the histogram's bounds; None means the OpenTelemetry HTTP buckets."""
    pipeline = Pipeline({"metrics": {"enabled": True, "buckets": [0.1, 1]}})
    assert pipeline.metrics is not None
    pipeline.metrics.route("/x").observe("GET", 200, 0.5)
    text = seawall.metrics.exposition(pipeline.metrics.registry).decode()
    assert 'le="0.1"' in text
    assert 'le="0.005"' not in text
    assert Settings.from_mapping(ON).metrics.buckets is None
    assert seawall.metrics.DURATION_BUCKETS[0] == 0.005


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"metrics": {"enabled": "yes"}}, "metrics.enabled"),
        ({"metrics": {"buckets": [1, 0.5]}}, "metrics.buckets"),
        ({"metrics": {"buckets": [-1]}}, "metrics.buckets"),
        ({"metrics": {"buckets": "1,2"}}, "metrics.buckets"),
        ({"metrics": {"buckets": []}}, "metrics.buckets"),
        ({"metrics": {"path": "metrics"}}, "metrics.path"),
    ],
)
def test_bad_metrics_settings_name_the_key(data: dict[str, Any], path: str) -> None:
    """Every bad metrics setting raises a SettingsError naming its path."""
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(data)
    assert info.value.path == path


def test_metrics_without_prometheus_client_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``metrics.enabled`` with prometheus-client missing is a SettingsError naming the extra."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # what a missing package does
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(ON)
    assert info.value.path == "metrics.enabled"
    assert "pip install seawall[prometheus]" in str(info.value)
    Settings.from_mapping({"metrics": {"enabled": False}})


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def test_wsgi_requests_are_counted_by_route() -> None:
    """The plain WSGI middleware times each request under its route's template."""
    middleware = WSGIMiddleware(wsgi_app, {**ON, "routes": {"GET /items/{id}": {}}})
    with httpx.Client(transport=httpx.WSGITransport(app=middleware), base_url="http://t") as c:
        c.get("/items/1")
        c.get("/other")
        found = samples(c.get("/metrics").text)
    assert count(found, "GET", "/items/{id}", "200") == 1
    assert count(found, "GET", "(unmatched)", "200") == 1


def test_label_of_a_route_key() -> None:
    """A key's label is its template without the method; prefix keys stay as written."""
    assert seawall.metrics.label_of("GET /items/{id}") == "/items/{id}"
    assert seawall.metrics.label_of("/admin/*") == "/admin/*"
    assert seawall.metrics.label_of(None) == "(unmatched)"


WORKER = """
import os, sys
from prometheus_client import Counter, Gauge, CollectorRegistry
r = CollectorRegistry()
Counter("jobs", "d", registry=r).inc(int(sys.argv[1]))
Gauge("busy", "d", registry=r, multiprocess_mode="livesum").set(1)
Gauge("kept", "d", registry=r, multiprocess_mode="all").set(1)
"""


def test_dead_workers_files_are_merged_or_removed(tmp_path: Path) -> None:
    """Counters of exited workers survive in one merged file; their live gauges vanish."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (1, 2, 3):
        subprocess.run([sys.executable, "-c", WORKER, str(n)], env=env, check=True)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert len([n for n in before if n.startswith("counter_")]) == 3
    assert compact(tmp_path) == 6
    after = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert [n for n in after if n.startswith("counter_")] == ["counter_merged.db"]
    assert not any(n.startswith("gauge_livesum") for n in after)
    assert len([n for n in after if n.startswith("gauge_all")]) == 3
    found = samples(seawall.metrics.exposition(None, str(tmp_path)).decode())
    assert found[("jobs_total", ())] == 6
    assert ("busy", ()) not in found
    subprocess.run([sys.executable, "-c", WORKER, "4"], env=env, check=True)
    compact(tmp_path)
    assert (
        samples(seawall.metrics.exposition(None, str(tmp_path)).decode())[("jobs_total", ())] == 10
    )
    assert compact(tmp_path) == 0


def test_a_process_is_alive_until_it_exits() -> None:
    """The liveness test the compaction uses."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not alive(child.pid)
    assert alive(os.getpid())


async def test_promtool_accepts_the_single_process_exposition() -> None:
    """``promtool check metrics`` finds nothing to complain about in one worker's answer."""
    from tests.services import binary

    promtool = binary("promtool", "prometheus")
    pipeline, c = asgi_client(ROUTES)
    async with c:
        await c.get("/items/1")
        await c.get("/boom/1")
        await c.request("BREW", "/items/1")
        text = (await c.get("/metrics")).content
    assert pipeline.metrics is not None
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    found = samples(text.decode())
    bucket = (
        "http_server_request_duration_seconds_bucket",
        (("http_request_method", "GET"), ("http_response_status_code", "200"),
         ("http_route", "/items/{id}"), ("le", "+Inf")),
    )  # fmt: skip
    assert found[bucket] == 1


def broken_fallback(request: FallbackRequest) -> None:
    raise RuntimeError("the fallback broke")


async def stale_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"fresh"})


async def test_stale_answers_and_failed_fallbacks_are_counted() -> None:
    """A stale answer counts in ``seawall_stale_responses_total``; a fallback that raises in
    ``seawall_fallbacks_total`` with ``outcome="failed"``."""
    settings = {
        **ON,
        "routes": {
            "GET /stale": {"breaker": True, "stale_if_error": 60},
            "GET /broken": {"breaker": True, "fallback": broken_fallback},
        },
    }
    pipeline = Pipeline(settings)
    transport = httpx.ASGITransport(app=ASGIMiddleware(stale_app, pipeline=pipeline))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/stale")).text == "fresh"
        breaker_for(pipeline, "GET", "/stale").force_open()
        breaker_for(pipeline, "GET", "/broken").force_open()
        assert (await c.get("/stale")).text == "fresh"  # the remembered answer
        assert (await c.get("/broken")).status_code == 503
        found = samples((await c.get("/metrics")).text)
    assert found[("seawall_stale_responses_total", (("http_route", "/stale"),))] == 1
    failed = (("http_route", "/broken"), ("outcome", "failed"), ("reason", "circuit_open"))
    assert found[("seawall_fallbacks_total", failed)] == 1


def test_under_multiprocess_requests_go_through_prometheus_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``PROMETHEUS_MULTIPROC_DIR`` set, request metrics are prometheus_client children
    (whose values that mode keeps in the per-worker files), and a sampler keeps the gauges."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    pipeline = Pipeline({**ON, "routes": {"GET /items/{id}": {"max_concurrency": 2}}})
    metrics = pipeline.metrics
    assert metrics is not None
    assert metrics.duration is not None
    assert any(t.name == "seawall-metrics" for t in threading.enumerate())
    middleware = WSGIMiddleware(wsgi_app, pipeline=pipeline)
    with httpx.Client(transport=httpx.WSGITransport(app=middleware), base_url="http://t") as c:
        c.get("/items/1")
        c.request("BREW", "/items/1")
        assert c.get("/metrics").status_code == 200
    metrics.sample()
    text = seawall.metrics.exposition(metrics.registry).decode()
    found = samples(text)
    assert count(found, "GET", "/items/{id}", "200") == 1
    assert count(found, "_OTHER", "(unmatched)", "200") == 1
    assert found[("seawall_bulkhead_active", (("bulkhead", "GET /items/{id}"),))] == 0
