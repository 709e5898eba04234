"""The seawall demo: start an example app on 127.0.0.1, send requests, show what happens.

``python -m examples.demo [asgi|wsgi|fastapi|flask|django]`` (``make demo APP=flask``).
It shows correlation ids (none, valid, hostile, concurrent), a failing route whose secrets
are redacted in both the problem response and the log event, a circuit breaker opening,
rejecting fast and closing again, and a slow route cut off by its timeout. Then it stops.
"""

from __future__ import annotations

import json
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
    print(f"Starting the {name} example on 127.0.0.1:{port} (server log: {log_path})")
    with (
        serve(APPS[name](port), port, log_path) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as client,
    ):
        correlation_ids(server, client)
        mapped_error(server, client)
        breaker(server, client)
        timeout(server, client)
    print("\nDone: the server was stopped.")


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


def which_503(response: httpx.Response) -> str:
    """Say whose answer a failure is: seawall's refusal (its problem has a ``reason``) or the
    handler's own error mapped to a problem (``ConnectionError`` is a 503 by default)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    title = body.get("title", "")
    reason = body.get("reason")
    if reason:
        return f"{title}: rejected by seawall ({reason}), the handler was not called"
    return f"{title}: the handler's own error, mapped to a {body.get('status')} problem"


def _title(response: httpx.Response) -> Any:
    try:
        return response.json().get("title", "")
    except ValueError:
        return ""


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "asgi")
