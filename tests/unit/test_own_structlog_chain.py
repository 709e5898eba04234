"""Users who keep their own structlog chain: no internal fields, a public redaction processor,
and one warning when seawall's events pass through a chain that does not redact."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import httpx
import pytest
import structlog

import seawall.logging
from seawall.asgi.middleware import ASGIMiddleware
from seawall.observability import chain
from seawall.wsgi.middleware import WSGIMiddleware

SECRET = "hunter2-Zq9"


@pytest.fixture
def own_chain() -> Iterator[Callable[[list[Any]], io.StringIO]]:
    """Configure structlog with the user's own processors; restore everything afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    saved_handlers = list(root.handlers)

    def configure(processors: list[Any]) -> io.StringIO:
        out = io.StringIO()
        structlog.configure(processors=processors, logger_factory=structlog.WriteLoggerFactory(out))
        return out

    chain._warned = False
    try:
        yield configure
    finally:
        structlog.configure(**saved)
        root.handlers[:] = saved_handlers
        chain._warned = False


def fail_asgi(password: str = SECRET) -> None:
    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError(f"login failed password={password}")

    import asyncio

    async def go() -> None:
        transport = httpx.ASGITransport(app=ASGIMiddleware(app), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/")

    asyncio.run(go())


def fail_wsgi() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        raise RuntimeError(f"login failed password={SECRET}")

    transport = httpx.WSGITransport(app=WSGIMiddleware(app), raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        client.get("/")


CHAINS: dict[str, Callable[[], list[Any]]] = {
    "bare_json": lambda: [structlog.processors.JSONRenderer()],
    "readme_advice": lambda: [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        seawall.logging.add_correlation_id,
        structlog.processors.JSONRenderer(),
    ],
    "with_redact_event": lambda: [
        structlog.processors.add_log_level,
        seawall.logging.add_correlation_id,
        structlog.processors.format_exc_info,
        seawall.logging.redact_event,
        structlog.processors.JSONRenderer(),
    ],
    "key_value": lambda: [structlog.processors.KeyValueRenderer()],
    "console": lambda: [structlog.dev.ConsoleRenderer(colors=False)],
}


@pytest.mark.parametrize("name", sorted(CHAINS))
@pytest.mark.parametrize("fail", [fail_asgi, fail_wsgi], ids=["asgi", "wsgi"])
def test_the_internal_field_never_appears(
    name: str, fail: Callable[[], None], own_chain: Callable[[list[Any]], io.StringIO]
) -> None:
    """Whatever the user's chain, ``_seawall_redacted`` is not in the emitted event."""
    out = own_chain(CHAINS[name]())
    fail()
    assert "request_failed" in out.getvalue()
    assert "_seawall_redacted" not in out.getvalue()
    assert "seawall_redacted" not in out.getvalue()


def test_redact_event_keeps_secrets_out_of_a_users_chain(
    own_chain: Callable[[list[Any]], io.StringIO],
) -> None:
    """The README chain plus ``redact_event``: the app's own ``password`` field is redacted."""
    out = own_chain(CHAINS["with_redact_event"]())
    structlog.get_logger("app").info("login", password=SECRET, user="ann")
    fail_asgi()
    text = out.getvalue()
    assert SECRET not in text
    first = json.loads(text.splitlines()[0])
    assert first["user"] == "ann"
    assert first["password"] != SECRET


def test_redaction_processor_takes_settings(own_chain: Callable[[list[Any]], io.StringIO]) -> None:
    """``redaction_processor(settings)`` redacts the keys the settings add."""
    processor = seawall.logging.redaction_processor({"redaction": {"keys": ["pin_code"]}})
    out = own_chain([processor, structlog.processors.JSONRenderer()])
    structlog.get_logger().info("x", pin_code="4711", colour="blue")
    event = json.loads(out.getvalue())
    assert event["pin_code"] != "4711"
    assert event["colour"] == "blue"


def test_a_chain_without_redaction_is_warned_about_once(
    own_chain: Callable[[list[Any]], io.StringIO], caplog: pytest.LogCaptureFixture
) -> None:
    """Two failures through a non-redacting chain: exactly one warning naming redact_event."""
    own_chain(CHAINS["readme_advice"]())
    with caplog.at_level(logging.WARNING, logger="seawall.logging"):
        fail_asgi()
        fail_wsgi()
    warnings = [r for r in caplog.records if r.name == "seawall.logging"]
    assert len(warnings) == 1
    assert "seawall.logging.redact_event" in warnings[0].getMessage()


@pytest.mark.parametrize("name", ["with_redact_event"])
def test_a_redacting_chain_is_not_warned_about(
    name: str, own_chain: Callable[[list[Any]], io.StringIO], caplog: pytest.LogCaptureFixture
) -> None:
    """With seawall's processor in the chain there is no warning."""
    own_chain(CHAINS[name]())
    with caplog.at_level(logging.WARNING, logger="seawall.logging"):
        fail_asgi()
    assert [r for r in caplog.records if r.name == "seawall.logging"] == []


def test_configure_and_capture_logs_are_not_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """seawall's own set-ups redact: no warning."""
    from seawall.testing import capture_logs

    chain._warned = False
    with caplog.at_level(logging.WARNING, logger="seawall.logging"), capture_logs() as logs:
        fail_asgi()
    assert logs.named("request_failed")
    assert SECRET not in logs.text
    assert [r for r in caplog.records if r.name == "seawall.logging"] == []
