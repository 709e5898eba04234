"""seawall.testing for apps' own tests: CapturedLogs as a sequence of events, quiet_logs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import structlog

from seawall.testing import CapturedLogs, capture_logs, quiet_logs
from seawall.wsgi.middleware import WSGIMiddleware


def boom(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise RuntimeError("expected in this test")


def get(path: str = "/") -> int:
    transport = httpx.WSGITransport(app=WSGIMiddleware(boom), raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        return client.get(path).status_code


def test_captured_logs_iterate_over_events_and_have_a_length() -> None:
    """``for event in logs`` and ``len(logs)`` work on the parsed events."""
    with capture_logs() as logs:
        structlog.get_logger("app").info("first", n=1)
        get()
    assert isinstance(logs, CapturedLogs)
    names = [event["event"] for event in logs]
    assert names[0] == "first"
    assert "request_failed" in names
    assert len(logs) == len(logs.events) == len(names)
    assert list(logs) == logs.events


def test_an_empty_capture_is_empty() -> None:
    """No events: length 0, nothing to iterate."""
    with capture_logs() as logs:
        pass
    assert len(logs) == 0
    assert list(logs) == []
    assert not logs


def test_quiet_logs_keeps_seawalls_error_events_out() -> None:
    """Inside quiet_logs the failure is answered as usual but logs no request_failed."""
    with capture_logs() as logs:
        with quiet_logs():
            assert get() == 500
            structlog.get_logger("app").info("the app's own line stays")
        assert get() == 500  # quiet no more
    assert len(logs.named("request_failed")) == 1
    assert logs.named("the app's own line stays")


def test_quiet_logs_covers_other_threads() -> None:
    """Servers in tests often run in another thread: quiet applies there too."""
    results: list[int] = []
    with capture_logs() as logs, quiet_logs():
        thread = threading.Thread(target=lambda: results.append(get()))
        thread.start()
        thread.join(timeout=30)
    assert results == [500]
    assert logs.named("request_failed") == []


def test_quiet_logs_nests() -> None:
    """An inner block ending does not end the outer one."""
    with capture_logs() as logs, quiet_logs():
        with quiet_logs():
            get()
        get()
    assert logs.named("request_failed") == []
