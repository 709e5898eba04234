"""Logging set-up: correlation id on structlog and stdlib lines, queues, own set-ups, redaction."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import queue
from collections.abc import Iterator

import pytest
import structlog

import seawall.logging as seawall_logging
from seawall.context.correlation import reset_correlation_id, set_correlation_id
from seawall.testing import CapturedLogs
from tests.fake_secrets import GITHUB_TOKEN, PASSWORD


@pytest.fixture
def request_id() -> Iterator[str]:
    token = set_correlation_id("log-1")
    yield "log-1"
    reset_correlation_id(token)


def test_structlog_and_stdlib_lines_carry_the_id(logs: CapturedLogs, request_id: str) -> None:
    """Both APIs write JSON lines with the request's correlation id."""
    structlog.get_logger("app").info("from structlog", order=7)
    logging.getLogger("app.std").warning("from %s", "stdlib")
    events = {e["event"]: e for e in logs.events}
    assert events["from structlog"]["correlation_id"] == request_id
    assert events["from structlog"]["order"] == 7
    assert events["from stdlib"]["correlation_id"] == request_id
    assert events["from stdlib"]["logger"] == "app.std"
    assert events["from stdlib"]["level"] == "warning"


def test_lines_outside_a_request_have_no_id(logs: CapturedLogs) -> None:
    """Outside a request no correlation id field is invented."""
    logging.getLogger("app").warning("startup")
    assert "correlation_id" not in logs.named("startup")[0]


def test_queue_handler_records_keep_the_id_of_their_request(logs: CapturedLogs) -> None:
    """A record logged through QueueHandler/QueueListener keeps the id of the logging thread."""
    records: queue.Queue[logging.LogRecord] = queue.Queue()
    sink = io.StringIO()
    target = logging.StreamHandler(sink)
    target.setFormatter(logging.Formatter("%(correlation_id)s %(message)s"))
    listener = logging.handlers.QueueListener(records, target)
    logger = logging.getLogger("app.queued")
    logger.propagate = False
    handler = logging.handlers.QueueHandler(records)
    logger.addHandler(handler)
    listener.start()
    try:
        token = set_correlation_id("queued-1")
        logger.warning("through the queue")
        reset_correlation_id(token)
    finally:
        listener.stop()
        logger.removeHandler(handler)
        logger.propagate = True
    assert sink.getvalue().strip() == "queued-1 through the queue"


def test_filter_and_processor_serve_own_setups(request_id: str) -> None:
    """CorrelationIdFilter and add_correlation_id work without seawall's configure()."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.addFilter(seawall_logging.CorrelationIdFilter())
    handler.setFormatter(logging.Formatter("[%(correlation_id)s] %(message)s"))
    logger = logging.getLogger("own.setup")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("hello")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    event = seawall_logging.add_correlation_id(None, "info", {"event": "x"})
    assert sink.getvalue().strip() == f"[{request_id}] hello"
    assert event == {"event": "x", "correlation_id": request_id}


def test_every_line_is_redacted(logs: CapturedLogs) -> None:
    """Secrets in structlog fields and stdlib messages never reach the output."""
    secret = PASSWORD
    structlog.get_logger().info("login", password=secret, note=f"password={secret}")
    logging.getLogger("app").error("dsn postgresql://u:%s@db/x", secret)
    assert secret not in logs.text
    assert len(logs.events) == 2


def test_exception_tracebacks_are_rendered_redacted(logs: CapturedLogs) -> None:
    """``exc_info`` is rendered into the line and redacted; no raw secret survives."""
    secret = GITHUB_TOKEN
    try:
        raise RuntimeError(f"token {secret}")
    except RuntimeError:
        logging.getLogger("app").exception("failed")
    event = logs.named("failed")[0]
    assert "RuntimeError" in event["exception"]
    assert secret not in logs.text


def test_control_characters_cannot_forge_lines(logs: CapturedLogs) -> None:
    """A newline in a value cannot start a second log line."""
    structlog.get_logger().info("user input", value='ok\n{"event": "forged"}')
    assert [e["event"] for e in logs.events] == ["user input"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Tests that call configure() themselves get the previous set-up back afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers = list(root.handlers)
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers


@pytest.mark.usefixtures("restore_logging")
def test_console_format_is_readable_and_json_is_default_off_tty() -> None:
    """``auto`` picks JSON for a non-terminal stream; ``console`` renders for people."""
    stream = io.StringIO()
    seawall_logging.configure(stream=stream, take_over=())
    structlog.get_logger().info("auto")
    json.loads(stream.getvalue().splitlines()[-1])
    stream = io.StringIO()
    seawall_logging.configure(format="console", stream=stream, take_over=())
    structlog.get_logger().info("readable")
    assert "readable" in stream.getvalue()
    assert not stream.getvalue().startswith("{")


@pytest.mark.usefixtures("restore_logging")
def test_configure_twice_keeps_one_handler() -> None:
    """Calling configure() again replaces seawall's handler instead of adding a second one."""
    seawall_logging.configure(stream=io.StringIO(), take_over=())
    seawall_logging.configure(stream=io.StringIO(), take_over=())
    root = logging.getLogger()
    assert sum(1 for h in root.handlers if getattr(h, "_seawall_handler", False)) == 1


@pytest.mark.usefixtures("restore_logging")
def test_framework_loggers_are_taken_over() -> None:
    """uvicorn's own handlers are removed so its lines go through seawall's chain."""
    access = logging.getLogger("uvicorn.access")
    access.addHandler(logging.NullHandler())
    access.propagate = False
    stream = io.StringIO()
    seawall_logging.configure(format="json", stream=stream)
    access.info("GET / 200")
    assert json.loads(stream.getvalue().splitlines()[-1])["event"] == "GET / 200"
