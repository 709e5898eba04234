"""End to end: ``make demo`` for every example app shows each section, in order, and stops
every process it started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from examples.demo import APPS
from examples.servers import ROOT
from tests.fake_secrets import API_KEY_BODY, EMAIL, EXAMPLE_PASSWORD

pytestmark = pytest.mark.e2e
ANSI = re.compile(r"\x1b\[[0-9;]*m")
HEADINGS = (
    "== Correlation ids",
    "== A failing route",
    "== A circuit breaker on GET /flaky",
    "== A slow route",
    "== Prometheus metrics at /metrics",
    "== Health:",
    "== A dependency:",
)


def run_demo(app: str) -> tuple[str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo", app],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=100,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return ANSI.sub("", done.stdout), time.monotonic() - started


def section(output: str, heading: str) -> str:
    """The lines of the section under ``heading``, up to the next one."""
    start = output.index(heading)
    following = [output.find(h, start + 1) for h in HEADINGS]
    end = min([i for i in following if i > start] + [len(output)])
    return output[start:end]


@pytest.mark.parametrize("app", sorted(APPS))
def test_the_demo_shows_every_section_and_stops_its_servers(app: str) -> None:
    output, elapsed = run_demo(app)
    positions = [output.index(heading) for heading in HEADINGS]
    assert positions == sorted(positions), "sections out of order"
    assert elapsed < 60, f"the demo took {elapsed:.1f} s"

    ids = section(output, "== Correlation ids")
    assert "X-Request-ID order-4711: response id order-4711" in ids
    assert "50 concurrent requests with distinct ids: 0 mismatches" in ids

    failing = section(output, "== A failing route")
    assert "GET /boom: 500 application/problem+json" in failing
    assert "   log: {" in failing  # the redacted log event is shown
    for secret in (EXAMPLE_PASSWORD, API_KEY_BODY, EMAIL):
        assert secret not in output

    breaker = section(output, "== A circuit breaker on GET /flaky")
    assert breaker.count("the handler's own error, mapped to a 503 problem") == 4
    assert "rejected by seawall (circuit_open), the handler was not called" in breaker
    assert '"new_state": "open"' in breaker

    metrics = section(output, "== Prometheus metrics at /metrics")
    hello = re.search(
        r'http_server_request_duration_seconds_count\{http_request_method="GET",'
        r'http_response_status_code="200",http_route="/?hello"\} (\d+)',
        metrics,
    )
    assert hello is not None
    assert float(hello.group(1)) >= 53  # the 53 requests to /hello above
    assert re.search(r'seawall_rejections_total\{http_route="/?flaky",reason="circuit_open"\} 1', metrics)  # fmt: skip
    assert re.search(r'seawall_breaker_state\{breaker="GET /?flaky",state="closed"\} 1', metrics)
    assert re.search(r'transitions_total\{breaker="GET /?flaky",from_state="closed",to_state="open"\} 1', metrics)  # fmt: skip

    health = section(output, "== Health:")
    assert '-> GET /health/live: 200 {"status":"pass"}' in health
    ready = re.findall(r"-> GET /health/ready: (\d+) (\{.*\})", health)
    assert ready == [("200", '{"status":"pass"}'), ("503", '{"status":"fail"}'),
                     ("200", '{"status":"pass"}')]  # fmt: skip
    assert re.search(r'"componentId":"GET /?flaky","componentType":"route","status":"fail"', health)  # fmt: skip
    assert '"upstream":[{"status":"pass"' in health

    dependency = section(output, "== A dependency:")
    assert re.search(r'-> GET /stock with X-Request-ID stock-1: 200 \{"stock": ?7\}', dependency)
    assert '"x_request_id": "stock-1", "status": 200' in dependency  # the id crossed over
    retried = re.findall(r'"x_request_id": "stock-2", "status": (\d+)', dependency)
    assert retried == ["503", "200"]
    assert "stock-down-0): 503 Service Unavailable: the handler's own error" in dependency
    assert (
        "stock-down-2): 503 Service temporarily unavailable: rejected by seawall (circuit_open),"
        " the inventory breaker refused the call; attempts that reached the upstream: 0"
    ) in dependency
    assert '"event": "dependency_breaker_changed"' in dependency
    assert '(inventory is not critical): 200 {"status":"warn"}' in dependency
    assert re.search(r'seawall_retries_total\{dependency="inventory",outcome="retried"\} [1-9]', dependency)  # fmt: skip
    assert re.search(r'seawall_dependency_calls_total\{dependency="inventory",outcome="rejected"\} 2', dependency)  # fmt: skip
    attempts_503 = (
        r'http_client_request_duration_seconds_count\{dependency="inventory",'
        r'http_request_method="GET",http_response_status_code="503"\} [1-9]'
    )
    assert re.search(attempts_503, dependency)
    assert re.search(r'seawall_breaker_state\{breaker="inventory",state="open"\} 1', dependency)

    pids = re.search(r"app pid (\d+), upstream pid (\d+)", output)
    assert pids is not None
    for pid in map(int, pids.groups()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert output.rstrip().endswith("Done: both servers were stopped.")
