"""The seawall demo: start an example app on 127.0.0.1, send requests, show what happens.

``python -m examples.demo [asgi|wsgi|fastapi|flask|django]`` (``make demo APP=flask``).
It shows correlation ids (none, valid, hostile, concurrent), a failing route whose secrets
are redacted in both the problem response and the log event, a circuit breaker opening,
rejecting fast and closing again, a slow route cut off by its timeout, a few lines of the
Prometheus metrics, the health endpoints (readiness failing while a critical route's breaker
is open), and calls to a local upstream service through seawall's httpx transport: the
correlation id crossing over, a retry, and the dependency's breaker opening (readiness
``warn``). Then it stops both servers it started, by PID.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from examples.servers import Server, free_port, gunicorn_argv, serve, uvicorn_argv

EXAMPLES = Path(__file__).resolve().parent
SERVERS: dict[str, tuple[str, Callable[[int], list[str]]]] = {
    "asgi": ("asgi_app.py", lambda port: uvicorn_argv("examples.asgi_app:app", port)),
    "wsgi": ("wsgi_app.py", lambda port: gunicorn_argv("examples.wsgi_app:app", port)),
    "fastapi": ("fastapi_app.py", lambda port: uvicorn_argv("examples.fastapi_app:app", port)),
    "flask": ("flask_app.py", lambda port: gunicorn_argv("examples.flask_app:app", port)),
    "django": (
        "django_project",
        lambda port: gunicorn_argv("examples.django_project.wsgi:application", port),
    ),
}
APPS = {name: argv for name, (source, argv) in SERVERS.items() if (EXAMPLES / source).exists()}
"""The example apps present in this checkout, by the name ``make demo APP=...`` takes."""

BOLD, DIM, RESET = "\033[1m", "\033[2m", "\033[0m"


def heading(text: str) -> None:
    print(f"\n{BOLD}== {text}{RESET}")


def show_events(server: Server, correlation_id: str, limit: int = 6) -> None:
    """Print the JSON log lines the server wrote for one correlation id."""
    events = server.wait_for_events(lambda e: e.get("correlation_id") == correlation_id, 3)
    for event in events[:limit]:
        print(f"   {DIM}log:{RESET} {json.dumps(event)[:600]}")


def main(name: str) -> None:
    if name not in APPS:
        raise SystemExit(f"unknown app {name!r}; choose one of {', '.join(APPS)}")
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="seawall-demo-")) / "server.log"
    upstream_port = free_port()
    upstream_log = log_path.with_name("upstream.log")
    env = {"EXAMPLE_UPSTREAM": f"http://127.0.0.1:{upstream_port}"}
    print(f"Starting the {name} example on 127.0.0.1:{port} (server log: {log_path})")
    print(f"Starting the upstream service on 127.0.0.1:{upstream_port} (log: {upstream_log})")
    upstream_argv = [sys.executable, "-m", "examples.upstream", str(upstream_port)]
    with (
        serve(upstream_argv, upstream_port, upstream_log) as upstream,
        serve(APPS[name](port), port, log_path, env) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as client,
    ):
        print(f"   app pid {server.process.pid}, upstream pid {upstream.process.pid}")
        correlation_ids(server, client)
        mapped_error(server, client)
        breaker(server, client)
        timeout(server, client)
        metrics(client)
        health(client)
        dependency(server, upstream, client)
    print("\nDone: both servers were stopped.")


def correlation_ids(server: Server, client: httpx.Client) -> None:
    heading("Correlation ids")
    response = client.get("/hello")
    generated = response.headers["x-request-id"]
    print(f"-> GET /hello with no id: X-Request-ID {generated} (generated), body {response.json()}")
    show_events(server, generated, 2)
    response = client.get("/hello", headers={"X-Request-ID": "order-4711"})
    echoed = response.headers["x-request-id"]
    print(f"-> GET /hello with X-Request-ID order-4711: response id {echoed}")
    show_events(server, "order-4711", 2)
    hostile = "{" + "x" * 40 + "}\r\nX-Evil: 1"
    response = client.get("/hello", headers={"X-Request-ID": hostile.replace("\r\n", " ")})
    replaced = response.headers["x-request-id"]
    print(f"-> GET /hello with a hostile id: replaced by {replaced}; the warning logs only a hint:")
    show_events(server, replaced, 1)
    ids = [f"concurrent-{n}" for n in range(50)]
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda i: client.get("/hello", headers={"X-Request-ID": i}), ids))
    mismatches = sum(
        r.headers["x-request-id"] != i or r.json()["correlation_id"] != i
        for r, i in zip(responses, ids, strict=True)
    )
    print(f"-> 50 concurrent requests with distinct ids: {mismatches} mismatches")


def mapped_error(server: Server, client: httpx.Client) -> None:
    heading("A failing route: secrets in the exception, none in the response or the log")
    response = client.get("/boom")
    print(f"-> GET /boom: {response.status_code} {response.headers['content-type']}")
    print(f"   body: {json.dumps(response.json())}")
    show_events(server, response.headers["x-request-id"], 2)


def breaker(server: Server, client: httpx.Client) -> None:
    heading("A circuit breaker on GET /flaky (opens at 50% failures of 4 calls, for 2 s)")
    for _ in range(4):
        response = client.get("/flaky", params={"fail": "1"})
        print(f"-> GET /flaky (upstream down): {response.status_code} {which_503(response)}")
    started = time.monotonic()
    response = client.get("/flaky")
    print(
        f"-> GET /flaky: {response.status_code} {which_503(response)}, "
        f"Retry-After {response.headers.get('retry-after')}, answered in "
        f"{(time.monotonic() - started) * 1000:.1f} ms"
    )
    print("   waiting for the open period to end...")
    time.sleep(2.2)
    response = client.get("/flaky")
    print(f"-> GET /flaky (half-open probe, upstream back): {response.status_code} {response.text}")
    response = client.get("/flaky")
    print(f"-> GET /flaky: {response.status_code} (closed again)")
    transitions = server.wait_for_events(lambda e: e.get("event") == "breaker_state_changed", 3)
    for event in transitions:
        print(f"   {DIM}log:{RESET} {json.dumps(event)}")


def timeout(server: Server, client: httpx.Client) -> None:
    heading("A slow route with a 0.5 s timeout")
    started = time.monotonic()
    response = client.get("/slow", params={"seconds": "3"})
    print(
        f"-> GET /slow: {response.status_code} {_title(response)} after "
        f"{time.monotonic() - started:.2f} s"
    )
    show_events(server, response.headers["x-request-id"], 2)


def metrics(client: httpx.Client) -> None:
    heading("Prometheus metrics at /metrics (a few lines)")
    show_metrics(
        client.get("/metrics").text,
        r'^http_server_request_duration_seconds_count\{.*http_route="/?hello".*',
        r'^seawall_rejections_total\{.*reason="circuit_open".*',
        r'^seawall_breaker_state\{breaker="GET /?flaky",state="(closed|open)"\}.*',
        r'^seawall_breaker_transitions_total\{breaker="GET /?flaky".*',
    )


def show_metrics(text: str, *patterns: str) -> None:
    """Print the exposition's lines that match one of ``patterns``, in their order."""
    for pattern in patterns:
        for match in re.finditer(pattern, text, re.MULTILINE):
            print(f"   {match.group(0)}")


def health(client: httpx.Client) -> None:
    heading("Health: /health/live, /health/ready (a check, and every breaker)")
    for path in ("/health/live", "/health/ready"):
        response = client.get(path)
        print(f"-> GET {path}: {response.status_code} {response.text}")
    print("   GET /flaky is critical: while its breaker is open, readiness fails")
    for _ in range(4):
        client.get("/flaky", params={"fail": "1"})
    response = client.get("/health/ready")
    print(f"-> GET /health/ready: {response.status_code} {response.text}")
    response = client.get("/health")
    print(f"-> GET /health: {response.status_code} {response.text}")
    print("   waiting for the open period to end...")
    time.sleep(2.2)
    client.get("/flaky")  # the half-open probe succeeds: closed again
    response = client.get("/health/ready")
    print(f"-> GET /health/ready: {response.status_code} {response.text}")


def dependency(server: Server, upstream: Server, client: httpx.Client) -> None:
    heading("A dependency: GET /stock calls the upstream through seawall's httpx transport")
    base = upstream.base_url
    response = client.get("/stock", headers={"X-Request-ID": "stock-1"})
    print(
        f"-> GET /stock with X-Request-ID stock-1: {response.status_code} {response.text.strip()}"
    )
    show_upstream(upstream, "stock-1")
    httpx.post(f"{base}/mode", json={"fail": 1})
    print("   the upstream fails its next request (503): the call is retried")
    response = client.get("/stock", headers={"X-Request-ID": "stock-2"})
    print(f"-> GET /stock: {response.status_code} {response.text.strip()}")
    show_upstream(upstream, "stock-2")
    httpx.post(f"{base}/mode", json={"fail": 100})
    print("   the upstream is down: the inventory breaker opens (50% failures of 4 attempts)")
    ids = [f"stock-down-{n}" for n in range(3)]
    answers = [client.get("/stock", headers={"X-Request-ID": i}) for i in ids]
    upstream.wait_for_events(lambda e: _carries(e, ids[0]), 3)  # its log may lag
    seen = upstream.json_events()
    for correlation_id, response in zip(ids, answers, strict=True):
        attempts = sum(_carries(e, correlation_id) for e in seen)
        print(
            f"-> GET /stock (id {correlation_id}): {response.status_code} "
            f"{which_503(response, refused='the inventory breaker refused the call')}; "
            f"attempts that reached the upstream: {attempts}"
        )
    opened = server.wait_for_events(lambda e: e.get("event") == "dependency_breaker_changed", 3)
    for event in opened:
        print(f"   {DIM}log:{RESET} {json.dumps(event)}")
    response = client.get("/health/ready")
    print(
        f"-> GET /health/ready (inventory is not critical): {response.status_code} {response.text}"
    )
    show_metrics(
        client.get("/metrics").text,
        r"^http_client_request_duration_seconds_count\{.*",
        r"^seawall_dependency_calls_total\{.*",
        r"^seawall_retries_total\{.*",
        r'^seawall_breaker_state\{breaker="inventory",state="(closed|open)"\}.*',
    )
    httpx.post(f"{base}/mode", json={"fail": 0})


def show_upstream(upstream: Server, correlation_id: str) -> None:
    """Print what the upstream logged of the requests that carried ``correlation_id``."""
    for event in upstream.wait_for_events(lambda e: _carries(e, correlation_id), 3):
        print(f"   {DIM}upstream log:{RESET} {json.dumps(event)}")


def _carries(event: dict[str, Any], correlation_id: str) -> bool:
    return event.get("x_request_id") == correlation_id


def which_503(response: httpx.Response, refused: str = "the handler was not called") -> str:
    """Say whose answer a failure is: seawall's refusal (its problem has a ``reason``; what
    was not run is ``refused``) or the handler's own error mapped to a problem
    (``ConnectionError`` is a 503 by default)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    title = body.get("title", "")
    reason = body.get("reason")
    if reason:
        return f"{title}: rejected by seawall ({reason}), {refused}"
    return f"{title}: the handler's own error, mapped to a {body.get('status')} problem"


def _title(response: httpx.Response) -> Any:
    try:
        return response.json().get("title", "")
    except ValueError:
        return ""


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "asgi")
