"""What runs after Django answered keeps the request's id: a plain generator's chunks under
ASGI, and the server's access line (the filter on ``django.server``, ``gunicorn.access``,
``uvicorn.access``).

This module is also the URLconf of its tests.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import Iterator

import pytest

from tests import django_settings

django_settings.setup()

import httpx  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

import seawall  # noqa: E402
from seawall.integrations.django.access_log import ACCESS_LOGGERS  # noqa: E402
from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.testing import CapturedLogs  # noqa: E402

log = logging.getLogger("shop")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        for index in range(3):
            log.info("chunk %d", index)
            yield f"{seawall.get_correlation_id()}\n".encode()

    return StreamingHttpResponse(chunks())


class Chunks:
    """An iterator object (not a generator) that logs each chunk."""

    def __init__(self) -> None:
        self.left = 3

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> bytes:
        if not self.left:
            raise StopIteration
        self.left -= 1
        log.info("chunk %d", self.left)
        return f"{seawall.get_correlation_id()}\n".encode()


def stream_object(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(Chunks())


def cut(request: HttpRequest, n: int) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        yield b"first\n"
        raise ConnectionResetError("upstream went away mid-stream")

    return StreamingHttpResponse(chunks())


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


urlpatterns = [
    path("stream", stream),
    path("stream-object", stream_object),
    path("cut/<int:n>", cut),
    path("hello", hello),
]


@pytest.fixture(autouse=True)
def urlconf() -> Iterator[None]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__):
        yield
    install_pipeline(None)


@pytest.mark.parametrize("url", ["/stream", "/stream-object"])
async def test_plain_generator_streamed_under_asgi_logs_with_the_id(
    logs: CapturedLogs, url: str
) -> None:
    """Under ASGI a sync generator's (or iterator object's) chunks see the id and log with
    it; it is reset after."""
    transport = httpx.ASGITransport(get_asgi_application(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(url, headers={"X-Request-ID": "asgi-stream"})
    assert response.text == "asgi-stream\n" * 3
    chunks = [e for e in logs.events if str(e["event"]).startswith("chunk")]
    assert [e.get("correlation_id") for e in chunks] == ["asgi-stream"] * 3
    assert seawall.get_correlation_id() is None


@pytest.mark.parametrize("logger", ACCESS_LOGGERS)
def test_the_access_line_after_a_request_carries_its_id(logs: CapturedLogs, logger: str) -> None:
    """A server's access line, written after Django answered, gets the answered id once;
    a line with no request of seawall's behind it gets none."""
    response = Client().get("/hello", HTTP_X_REQUEST_ID="access-1")
    assert seawall.get_correlation_id() is None
    logging.getLogger(logger).info('"GET /hello HTTP/1.1" 200 5')
    logging.getLogger(logger).info('"GET /static/x.css HTTP/1.1" 200 5')
    first, second = [e for e in logs.events if e.get("logger") == logger]
    assert first["correlation_id"] == "access-1" == response["X-Request-ID"]
    assert "correlation_id" not in second


def aborted_events(logs: CapturedLogs) -> list[tuple[object, object, object]]:
    return [
        (e.get("correlation_id"), e.get("route"), e.get("exception"))
        for e in logs.events
        if e["event"] == "response_aborted"
    ]


CUT = ("cut-1", "GET cut/<int:n>", "builtins.ConnectionResetError")


async def test_a_stream_cut_under_asgi_is_reported_with_its_id(logs: CapturedLogs) -> None:
    """A streamed body that fails after the response started logs one ``response_aborted``
    with the request's id and route (the server alone would log it without either)."""
    transport = httpx.ASGITransport(get_asgi_application(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/cut/1", headers={"X-Request-ID": "cut-1"})
    assert response.text == "first\n"
    assert aborted_events(logs) == [CUT]
    assert seawall.get_correlation_id() is None
    with warnings.catch_warnings():  # Django leaves the request's body file to the collector
        warnings.simplefilter("ignore", ResourceWarning)  # when a stream fails under ASGI
        gc.collect()


def test_a_stream_cut_under_wsgi_is_reported_with_its_id(logs: CapturedLogs) -> None:
    """The same under WSGI: reported while the id is set, then raised to the server."""
    response = Client(raise_request_exception=False).get("/cut/1", HTTP_X_REQUEST_ID="cut-1")
    with pytest.raises(ConnectionResetError):
        b"".join(response.streaming_content)
    response.close()
    assert aborted_events(logs) == [CUT]
    assert seawall.get_correlation_id() is None
