"""Dependency and dead-letter metrics: httpx attempts, calls, retries, dependency breakers
(through a real httpx transport against a local server), and dead-letter depths."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.upstream import make_server
from seawall.dead_letter import DeadLetters
from seawall.errors.exceptions import CircuitOpenError
from seawall.integrations.httpx import Transport
from seawall.observability.events import DependencyRequest, DependencyRetry
from seawall.observability.metrics import Metrics
from seawall.server.pipeline import Pipeline
from seawall.testing import FakeClock
from tests.conftest import ROOT
from tests.unit.test_metrics import Samples, samples


@pytest.fixture
def upstream() -> Iterator[ThreadingHTTPServer]:
    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def settings(retry_attempts: int = 3, minimum_calls: int = 4) -> dict[str, Any]:
    return {
        "metrics": {"enabled": True},
        "dependencies": {
            "inventory": {
                "hosts": ["127.0.0.1"],
                "retry": {"attempts": retry_attempts, "backoff": 0.001, "max_backoff": 0.001,
                          "budget": {"ratio": 1.0, "min_per_second": 100}},
                "breaker": {"minimum_calls": minimum_calls, "failure_rate": 0.5},
            },
        },
    }  # fmt: skip


def scrape(pipeline: Pipeline) -> Samples:
    assert pipeline.metrics is not None
    return samples(seawall_exposition(pipeline.metrics))


def seawall_exposition(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    metrics.sample()
    return generate_latest(metrics.registry).decode()


def durations(found: Samples, method: str, status: str) -> float:
    labels = (
        ("dependency", "inventory"),
        ("http_request_method", method),
        ("http_response_status_code", status),
    )
    return found.get(("http_client_request_duration_seconds_count", labels), 0.0)


def calls(found: Samples, outcome: str) -> float:
    key = ("seawall_dependency_calls_total", (("dependency", "inventory"), ("outcome", outcome)))
    return found.get(key, 0.0)


def retries(found: Samples, outcome: str) -> float:
    key = ("seawall_retries_total", (("dependency", "inventory"), ("outcome", outcome)))
    return found.get(key, 0.0)


def test_attempts_calls_and_retries_are_counted_on_the_pipelines_registry(
    upstream: ThreadingHTTPServer,
) -> None:
    """Each attempt by method and status (a retried 503 then a 200), whole calls by outcome,
    retries; an odd method is ``_OTHER``; attempts that got no answer have status ``0``."""
    pipeline = Pipeline(settings(minimum_calls=100))
    assert pipeline.dependencies is not None
    base = f"http://127.0.0.1:{upstream.server_address[1]}"
    with httpx.Client(transport=Transport(dependencies=pipeline.dependencies)) as client:
        client.post(f"{base}/mode", json={"fail": 1})  # not retried, counted: 200
        assert client.get(f"{base}/stock").status_code == 200
        assert client.request("BREW", f"{base}/stock").status_code == 200
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{_closed_port()}/stock")
    found = scrape(pipeline)
    assert durations(found, "GET", "503") == 1
    assert durations(found, "GET", "200") == 1
    assert durations(found, "POST", "200") == 1
    assert durations(found, "_OTHER", "200") == 1
    assert durations(found, "GET", "0") == 3  # three refused attempts, no answer
    assert calls(found, "success") == 3
    assert calls(found, "failure") == 1
    assert retries(found, "retried") == 3  # one after the 503, two after refused connections
    seen = [(r["upstream"], r["status"]) for r in upstream.seen]  # type: ignore[attr-defined]
    assert seen == [("POST /mode", 200), ("GET /stock", 503), ("GET /stock", 200),
                    ("BREW /stock", 200)]  # fmt: skip


def test_the_dependency_breaker_appears_in_the_state_gauge_and_transitions(
    upstream: ThreadingHTTPServer,
) -> None:
    """The dependency's breaker is in ``seawall_breaker_state`` from the start, and its
    opening is counted in ``seawall_breaker_transitions_total``; calls it refuses are
    ``rejected`` and the retry it refuses is a ``rejected`` retry."""
    pipeline = Pipeline(settings(retry_attempts=3, minimum_calls=2))
    before = scrape(pipeline)
    closed = ("seawall_breaker_state", (("breaker", "inventory"), ("state", "closed")))
    assert before[closed] == 1
    base = f"http://127.0.0.1:{upstream.server_address[1]}"
    with httpx.Client(transport=Transport()) as client:  # the process-wide: this pipeline's
        client.post(f"{base}/mode", json={"fail": 100})
        # 503, retried: 503 again, the breaker opens and refuses the third attempt
        first = client.get(f"{base}/stock")
        for _ in range(2):
            with pytest.raises(CircuitOpenError):
                client.get(f"{base}/stock")
    assert first.status_code == 503
    found = scrape(pipeline)
    opened = (("breaker", "inventory"), ("from_state", "closed"), ("to_state", "open"))
    assert found[("seawall_breaker_transitions_total", opened)] == 1
    assert found[("seawall_breaker_state", (("breaker", "inventory"), ("state", "open")))] == 1
    assert found[closed] == 0
    assert calls(found, "failure") == 1
    assert calls(found, "rejected") == 2
    assert retries(found, "retried") == 1
    assert retries(found, "rejected") == 1


def test_retry_outcomes_keep_their_own_label_values() -> None:
    """Each retry outcome the client publishes is its own series (``rejected`` included)."""
    pipeline = Pipeline(settings())
    for outcome in ("retried", "budget_exhausted", "deadline", "rejected"):
        pipeline.events.publish(DependencyRetry("inventory", outcome, 1, 0.0, "transient"))
    pipeline.events.publish(DependencyRequest("inventory", "GET", None, 0.01, "ReadTimeout"))
    found = scrape(pipeline)
    for outcome in ("retried", "budget_exhausted", "deadline", "rejected"):
        assert retries(found, outcome) == 1
    assert durations(found, "GET", "0") == 1


def test_dead_letter_depths_are_sampled_at_most_every_few_seconds(tmp_path: Path) -> None:
    """``seawall_dead_letters`` shows each queue's depth; between two reads of the store
    (5 s apart) scrapes show the last read; an emptied queue shows 0."""
    queue = DeadLetters(_dead_letter_settings(tmp_path))
    clock = FakeClock()
    pipeline = Pipeline({"metrics": {"enabled": True}})
    metrics = Metrics(
        pipeline.settings.metrics,
        events=pipeline.events,
        breakers=pipeline.breakers,
        dead_letters=lambda: queue,
        clock=clock,
    )
    for n in range(3):
        queue.put("mailer", {"n": n})
    queue.put("invoices", {"n": 0})

    def depth(name: str) -> float:
        return samples(seawall_exposition(metrics))[("seawall_dead_letters", (("queue", name),))]

    assert (depth("mailer"), depth("invoices")) == (3, 1)
    queue.put("mailer", {"n": 3})
    clock.advance(4.9)
    assert depth("mailer") == 3  # not read again yet
    clock.advance(0.2)
    assert depth("mailer") == 4
    for entry in queue.entries("invoices"):
        queue.store.complete(entry)
    clock.advance(5)
    assert depth("invoices") == 0
    queue.close()


def test_a_failing_dead_letter_store_keeps_the_last_depths(tmp_path: Path) -> None:
    """A store that raises (Redis down) does not fail the scrape."""
    queue = DeadLetters(_dead_letter_settings(tmp_path))
    queue.put("mailer", {"n": 0})
    clock = FakeClock()
    pipeline = Pipeline({"metrics": {"enabled": True}})
    metrics = Metrics(
        pipeline.settings.metrics,
        events=pipeline.events,
        breakers=pipeline.breakers,
        dead_letters=lambda: queue,
        clock=clock,
    )
    key = ("seawall_dead_letters", (("queue", "mailer"),))
    assert samples(seawall_exposition(metrics))[key] == 1
    queue.close()  # every query now raises
    clock.advance(10)
    assert samples(seawall_exposition(metrics))[key] == 1


def test_the_process_wide_dead_letter_queue_is_shown_once_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default the gauge reads the process-wide queue, and a scrape never opens it."""
    from seawall import dead_letter

    monkeypatch.chdir(tmp_path)
    dead_letter.configure({"dead_letter": {"path": str(tmp_path / "dl.sqlite3")}})
    try:
        pipeline = Pipeline({"metrics": {"enabled": True}})
        assert not any(k[0] == "seawall_dead_letters" for k in scrape(pipeline))
        assert dead_letter.opened() is None
        dead_letter.put("mailer", {"n": 1})
        pipeline2 = Pipeline({"metrics": {"enabled": True}})
        found = scrape(pipeline2)
        assert found[("seawall_dead_letters", (("queue", "mailer"),))] == 1
    finally:
        dead_letter.configure(None)


def _dead_letter_settings(tmp_path: Path) -> Any:
    from seawall.config.settings import Settings

    return Settings.coerce({"dead_letter": {"path": str(tmp_path / "dl.sqlite3")}}).dead_letter


def _closed_port() -> int:
    from examples.servers import free_port

    return free_port()


WORKER = """
import sys
from seawall.dead_letter import DeadLetters
from seawall.observability.events import DependencyRequest
from seawall.observability.metrics import Metrics, exposition
from seawall.server.pipeline import Pipeline
from tests.unit.test_dependency_metrics import _dead_letter_settings, settings

queue = DeadLetters(_dead_letter_settings(__import__("pathlib").Path(sys.argv[1])))
queue.put("mailer", {"n": 0})
pipeline = Pipeline({**settings(), "metrics": {"enabled": False}})  # one Metrics in this process
metrics = Metrics(pipeline.settings.metrics, events=pipeline.events, breakers=pipeline.breakers,
                  dead_letters=lambda: queue)
pipeline.events.publish(DependencyRequest("inventory", "GET", 200, 0.01, None))
metrics.sample()
sys.stdout.write(exposition(None, sys.argv[2]).decode())
"""


def test_under_multiprocess_dependency_and_dead_letter_metrics_reach_the_files(
    tmp_path: Path,
) -> None:
    """With ``PROMETHEUS_MULTIPROC_DIR`` (read by prometheus_client at import: a process of
    its own), the merged exposition of the workers' files has the attempts and the depths."""
    files = tmp_path / "metrics"
    files.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(files), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path), str(files)],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = samples(done.stdout)
    assert durations(found, "GET", "200") == 1
    assert found[("seawall_dead_letters", (("queue", "mailer"),))] == 1
