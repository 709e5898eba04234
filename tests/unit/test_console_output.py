"""Console logging reads like Python: tracebacks with source lines, redacted; colours only on
terminals; no library colour codes printed as text."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
import structlog

import seawall.logging
from seawall.wsgi.middleware import WSGIMiddleware

SECRET = "hunter2-Zq9"
ESC = "\x1b"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NO_COLOR", raising=False)
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def failing_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    password = SECRET
    raise RuntimeError(f"login failed password={password}") from ValueError("db is down")


def fail() -> None:
    transport = httpx.WSGITransport(app=WSGIMiddleware(failing_app), raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        client.get("/")


def test_a_failure_prints_a_python_traceback_with_source_lines() -> None:
    """``request_failed`` on the console: a Traceback block, frames, source, last line."""
    out = io.StringIO()
    seawall.logging.configure(format="console", stream=out)
    fail()
    text = out.getvalue()
    assert "Traceback (most recent call last):" in text
    assert re.search(
        r'  File ".*test_console_output\.py", line \d+, in failing_app\n    raise', text
    )
    assert "\nRuntimeError: login failed password=" in text
    assert "ValueError: db is down" in text
    assert "The above exception was the direct cause of the following exception:" in text
    assert "traceback=[" not in text
    assert "{'file'" not in text
    assert "\nbuiltins.RuntimeError" not in text  # no stray line with the class name
    assert SECRET not in text


def test_stdlib_exceptions_keep_their_lines_on_the_console() -> None:
    """``logger.exception`` gets a multi-line traceback, redacted, not one escaped line."""
    out = io.StringIO()
    seawall.logging.configure(format="console", stream=out)
    try:
        raise KeyError(f"token={SECRET}")
    except KeyError:
        logging.getLogger("app").exception("lookup failed")
    text = out.getvalue()
    assert "\nTraceback (most recent call last):\n" in text
    assert "\\n" not in text
    assert SECRET not in text


@pytest.mark.parametrize("stream_kind", ["stringio", "file"])
def test_explicit_console_to_a_non_terminal_has_no_colour_codes(
    stream_kind: str, tmp_path: Any
) -> None:
    """``format="console"`` writing to a file or pipe: plain text only."""
    if stream_kind == "file":
        stream: Any = (tmp_path / "log.txt").open("w")
    else:
        stream = io.StringIO()
    seawall.logging.configure(format="console", stream=stream)
    fail()
    structlog.get_logger("app").warning("hello", n=1)
    if stream_kind == "file":
        stream.close()
        text = (tmp_path / "log.txt").read_text()
    else:
        text = stream.getvalue()
    assert "hello" in text
    assert ESC not in text


def test_a_terminal_gets_colours() -> None:
    """The contrast: a terminal gets colour codes."""
    out = Terminal()
    seawall.logging.configure(format="console", stream=out)
    structlog.get_logger("app").warning("hello")
    assert ESC in out.getvalue()


def test_no_color_turns_colours_off_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """``NO_COLOR`` (no-color.org) is honoured."""
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    seawall.logging.configure(format="console", stream=out)
    structlog.get_logger("app").warning("hello")
    assert ESC not in out.getvalue()


@pytest.mark.parametrize("format", ["console", "json"])
def test_werkzeug_colour_codes_are_not_printed_as_text(format: str) -> None:
    """Werkzeug's coloured request line: no ``\\x1b[31m`` text and no raw escapes."""
    out = io.StringIO()
    seawall.logging.configure(format=format, stream=out)  # type: ignore[arg-type]
    logging.getLogger("werkzeug").info(
        '%s - - "%s" %s -', "127.0.0.1", "GET / HTTP/1.1", "\x1b[31m\x1b[1m500\x1b[0m"
    )
    text = out.getvalue().replace('\\"', '"')  # JSON escapes the quotes
    assert '"GET / HTTP/1.1" 500 -' in text
    assert "x1b" not in text
    assert ESC not in text
