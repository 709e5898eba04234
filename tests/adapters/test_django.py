"""The Django middleware in production mode (DEBUG off, exceptions not re-raised by the client).

This module is also the tests' URLconf: the views below are what the tests call.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests import django_settings
from tests.garbage import cyclic_garbage

django_settings.setup()

import httpx  # noqa: E402
from django.apps import apps  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.checks import run_checks  # noqa: E402
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation  # noqa: E402
from django.http import (  # noqa: E402
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

import seawall  # noqa: E402
from seawall.clock import FakeClock  # noqa: E402
from seawall.config.settings import Settings  # noqa: E402
from seawall.integrations.django.conf import get_runtime, install_pipeline  # noqa: E402
from seawall.server.pipeline import Pipeline  # noqa: E402
from seawall.testing import CapturedLogs  # noqa: E402
from tests.fake_secrets import API_KEY, EMAIL, PASSWORD  # noqa: E402

log = logging.getLogger("shop")
gate_open = threading.Event()
gate_entered = threading.Event()
slow_release = threading.Event()
async_cancelled = threading.Event()


def hello(request: HttpRequest) -> JsonResponse:
    log.info("hello handled")
    return JsonResponse({"correlation_id": seawall.get_correlation_id()})


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(
        f"cannot reach postgres://shop:{PASSWORD}@db:5432/x api_key={API_KEY} for {EMAIL}"
    )


DJANGO_ERRORS: dict[str, Callable[[], Exception]] = {
    "http404": lambda: Http404(f"no order for {EMAIL}"),
    "denied": lambda: PermissionDenied(f"token {API_KEY} revoked"),
    "suspicious": lambda: SuspiciousOperation(f"odd host with {PASSWORD}"),
    "bad": lambda: BadRequest(f"bad field api_key={API_KEY}"),
}


def django_error(request: HttpRequest, kind: str) -> HttpResponse:
    raise DJANGO_ERRORS[kind]()


def own_headers(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("x")
    response["X-Request-ID"] = "app-set"
    response["Access-Control-Expose-Headers"] = "X-Total"
    return response


def own_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "app's own"}, status=404)


def flaky(request: HttpRequest) -> HttpResponse:
    if request.GET.get("fail") == "1":
        raise ConnectionError("upstream down")
    return HttpResponse("ok")


def flaky_with_cookie(request: HttpRequest) -> HttpResponse:
    response = flaky(request)
    response.set_cookie("basket", "b-42")
    return response


def slow(request: HttpRequest, n: int) -> HttpResponse:
    slow_release.wait(10)  # released by the test once it has its answer
    return HttpResponse("late")


def gate(request: HttpRequest) -> HttpResponse:
    gate_entered.set()
    gate_open.wait(10)
    return HttpResponse("through")


@seawall.policy(breaker={"failure_rate": 0.5, "minimum_calls": 2, "open_for": 60})
def decorated(request: HttpRequest) -> HttpResponse:
    raise ConnectionError("always down")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        for index in range(3):
            log.info("chunk %d", index)
            yield f"{seawall.get_correlation_id()}\n".encode()

    return StreamingHttpResponse(chunks())


async def async_hello(request: HttpRequest) -> JsonResponse:
    log.info("async hello handled")
    await asyncio.sleep(0)
    return JsonResponse({"correlation_id": seawall.get_correlation_id()})


async def async_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"async failure password={PASSWORD}")


async def async_slow(request: HttpRequest) -> HttpResponse:
    try:
        await asyncio.Event().wait()  # never set: only the route timeout ends this
    except asyncio.CancelledError:
        async_cancelled.set()
        raise
    return HttpResponse("unreachable")


urlpatterns = [
    path("hello", hello),
    path("boom", boom),
    path("errors/<str:kind>", django_error),
    path("own-headers", own_headers),
    path("own-404", own_not_found),
    path("flaky", flaky),
    path("flaky/cookie", flaky_with_cookie),
    path("slow/<int:n>/", slow),
    path("gate", gate),
    path("decorated", decorated),
    path("stream", stream),
    path("async/hello", async_hello),
    path("async/boom", async_boom),
    path("async/slow", async_slow),
]


def explode_middleware(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[..., Any]:
    """A middleware inside seawall's that fails outside any view."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path == "/hello":
            raise RuntimeError(f"middleware broke password={PASSWORD}")
        return get_response(request)

    return middleware


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture(autouse=True)
def fresh_pipeline() -> Iterator[None]:
    """Each test starts with breakers and bulkheads built anew, with this module as URLconf."""
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__):
        yield
    install_pipeline(None)


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    return body


def failures(logs: CapturedLogs) -> list[dict[str, Any]]:
    """Error-level events, and anything Django's own loggers wrote."""
    return [
        e
        for e in logs.events
        if e.get("level") == "error" or str(e.get("logger", "")).startswith("django")
    ]


def test_generated_id_in_header_body_and_log(client: Client, logs: CapturedLogs) -> None:
    """A request without an id gets one: response header, view and log line agree."""
    response = client.get("/hello")
    cid = response["X-Request-ID"]
    assert response.status_code == 200
    assert response.json() == {"correlation_id": cid}
    assert [e["correlation_id"] for e in logs.named("hello handled")] == [cid]
    assert seawall.get_correlation_id() is None


def test_valid_incoming_id_is_kept(client: Client) -> None:
    """A valid client id is used and echoed."""
    response = client.get("/hello", HTTP_X_REQUEST_ID="order-4711")
    assert response["X-Request-ID"] == "order-4711"
    assert response.json()["correlation_id"] == "order-4711"


def test_hostile_id_is_replaced_and_only_hinted(client: Client, logs: CapturedLogs) -> None:
    """An invalid id is regenerated; the warning shows an escaped hint, never the value."""
    response = client.get("/hello", HTTP_X_REQUEST_ID="{" + "a" * 300 + "}")
    assert response["X-Request-ID"] != "{" + "a" * 300 + "}"
    (warning,) = logs.named("correlation_id_invalid")
    assert "a" * 40 not in json.dumps(warning)


@override_settings(SEAWALL={"correlation": {"incoming": "reject"}})
def test_reject_policy_answers_400_problem(client: Client) -> None:
    """With ``incoming: reject`` an invalid id gets a 400 problem carrying a fresh id."""
    response = client.get("/hello", HTTP_X_REQUEST_ID="bad id!")
    body = problem(response)
    assert response.status_code == 400
    assert body["correlation_id"] == response["X-Request-ID"]


def test_app_set_id_replaced_and_expose_header_merged(client: Client) -> None:
    """The app's own X-Request-ID is replaced (one header) and the expose list is merged."""
    response = client.get("/own-headers", HTTP_X_REQUEST_ID="mine-1")
    assert response["X-Request-ID"] == "mine-1"
    assert response["Access-Control-Expose-Headers"] == "X-Total, X-Request-ID"


def test_user_exception_is_a_500_problem_logged_once_without_secrets(
    client: Client, logs: CapturedLogs
) -> None:
    """A view's exception: problem+json, one sanitized error event, nothing from django.request."""
    response = client.get("/boom", HTTP_ACCEPT="application/json")
    body = problem(response)
    assert response.status_code == 500
    assert body["correlation_id"] == response["X-Request-ID"]
    (event,) = failures(logs)
    assert event["event"] == "request_failed"
    assert event["error_id"] == body["error_id"]
    assert event["route"] == "GET boom"
    for secret in (PASSWORD, API_KEY, EMAIL):
        assert secret not in response.content.decode()
        assert secret not in logs.text


@pytest.mark.parametrize(
    ("kind", "status"), [("http404", 404), ("denied", 403), ("suspicious", 400), ("bad", 400)]
)
def test_django_exceptions_become_problems(
    client: Client, logs: CapturedLogs, kind: str, status: int
) -> None:
    """Http404, PermissionDenied, SuspiciousOperation and BadRequest map to their statuses."""
    response = client.get(f"/errors/{kind}")
    body = problem(response)
    assert response.status_code == body["status"] == status
    assert body["correlation_id"] == response["X-Request-ID"]
    for secret in (PASSWORD, API_KEY, EMAIL):
        assert secret not in response.content.decode()
    assert failures(logs) == []


def test_django_404_page_becomes_a_problem_for_api_clients(client: Client) -> None:
    """An unknown URL: Django's HTML 404 page is turned into problem+json."""
    response = client.get("/nowhere", HTTP_ACCEPT="application/json")
    body = problem(response)
    assert response.status_code == 404
    assert body["instance"] == "/nowhere"
    assert body["correlation_id"] == response["X-Request-ID"]


def test_browsers_keep_django_html_404_page(client: Client) -> None:
    """A browser asking for HTML keeps Django's page, with the correlation header."""
    response = client.get("/nowhere", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Request-ID"]


def test_app_error_responses_are_left_alone(client: Client) -> None:
    """A view's own JSON 404 is the app's answer, not replaced by a problem."""
    response = client.get("/own-404")
    assert response.status_code == 404
    assert response.json() == {"error": "app's own"}


@override_settings(
    MIDDLEWARE=["seawall.integrations.django.SeawallMiddleware", f"{__name__}.explode_middleware"]
)
def test_failure_in_inner_middleware_is_one_sanitized_event(logs: CapturedLogs) -> None:
    """Django answers a middleware failure itself; seawall logs it once and drops Django's record."""
    response = Client(raise_request_exception=False).get("/hello")
    body = problem(response)
    assert response.status_code == 500
    (event,) = failures(logs)
    assert event["error_id"] == body["error_id"]
    assert event["exception"] == "builtins.RuntimeError"
    assert PASSWORD not in logs.text


@override_settings(DEBUG=True)
def test_django_debug_turns_on_problem_debug_members(client: Client) -> None:
    """With DEBUG the problem names the exception class and a redacted message."""
    body = problem(client.get("/boom", HTTP_ACCEPT="application/json"))
    assert body["exception"] == "builtins.RuntimeError"
    assert PASSWORD not in body["message"]


def test_breaker_keyed_by_django_route_opens_and_recovers(client: Client) -> None:
    """ "GET flaky" opens after 2 of 4 failures, answers 503 with Retry-After, then recovers."""
    clock = FakeClock(100.0)
    install_pipeline(Pipeline(get_runtime().pipeline.settings, clock=clock))
    statuses = [client.get("/flaky", {"fail": "1"}).status_code for _ in range(4)]
    assert statuses == [503] * 4  # ConnectionError maps to 503
    rejected = client.get("/flaky")
    body = problem(rejected)
    assert body["reason"] == "circuit_open"
    assert rejected["Retry-After"] == "5"
    assert body["correlation_id"] == rejected["X-Request-ID"]
    clock.advance(5.1)
    assert client.get("/flaky").status_code == 200  # the half-open probe
    assert client.get("/flaky").status_code == 200


STALE_POLICY = {
    "breaker": {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30},
    "stale_if_error": 60,
}
STALE_FLAKY = {"routes": {"GET flaky": STALE_POLICY, "GET flaky/cookie": STALE_POLICY}}


@override_settings(SEAWALL=STALE_FLAKY)
def test_open_breaker_serves_the_last_good_answer_of_the_url(client: Client) -> None:
    """With ``stale_if_error`` the open breaker answers a URL it answered before with that
    answer (and today's id); a URL it never answered gets the 503 problem."""
    assert client.get("/flaky", {"v": "1"}).content == b"ok"
    for _ in range(2):
        client.get("/flaky", {"fail": "1"})
    stale = client.get("/flaky", {"v": "1"}, HTTP_X_REQUEST_ID="now-3")
    assert (stale.status_code, stale.content) == (200, b"ok")
    assert stale["Seawall-Stale"] == "circuit_open"
    assert stale["X-Request-ID"] == "now-3"
    assert problem(client.get("/flaky", {"v": "2"}))["reason"] == "circuit_open"


@override_settings(SEAWALL=STALE_FLAKY)
def test_an_answer_that_sets_a_cookie_is_never_served_stale(client: Client) -> None:
    """Django sets cookies apart from the headers; they still keep the answer out of the store."""
    assert client.get("/flaky/cookie").cookies["basket"].value == "b-42"
    for _ in range(2):
        client.get("/flaky/cookie", {"fail": "1"})
    assert problem(client.get("/flaky/cookie"))["reason"] == "circuit_open"


@override_settings(SEAWALL=STALE_FLAKY)
async def test_open_breaker_serves_the_last_good_answer_under_asgi() -> None:
    """The same under Django's ASGI handler."""
    async with asgi_client() as c:
        assert (await c.get("/flaky")).text == "ok"
        for _ in range(2):
            await c.get("/flaky", params={"fail": "1"})
        stale = await c.get("/flaky")
    assert (stale.status_code, stale.text, stale.headers["seawall-stale"]) == (
        200,
        "ok",
        "circuit_open",
    )


def test_policy_decorator_overrides_settings(client: Client) -> None:
    """``@seawall.policy`` on a view gives its route a breaker the settings do not have."""
    assert [client.get("/decorated").status_code for _ in range(2)] == [503, 503]
    body = problem(client.get("/decorated"))
    assert body["reason"] == "circuit_open"


def test_thread_mode_timeout_answers_504(client: Client, logs: CapturedLogs) -> None:
    """ "GET slow/<int:n>/" runs isolated: 504 at its 0.2 s timeout while the view still waits."""
    slow_release.clear()
    try:
        response = client.get("/slow/1/")
    finally:
        slow_release.set()
    body = problem(response)
    assert response.status_code == 504
    assert body["reason"] == "timeout"
    (event,) = logs.named("request_rejected")
    assert event["route"] == "GET slow/<int:n>/"


def test_bulkhead_rejects_beyond_its_limit(logs: CapturedLogs) -> None:
    """ "GET gate" admits one request at a time: a second concurrent one gets 503."""
    gate_open.clear()
    gate_entered.clear()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(Client(raise_request_exception=False).get, "/gate")
        assert gate_entered.wait(10)
        try:
            second = Client(raise_request_exception=False).get("/gate")
        finally:
            gate_open.set()
        assert first.result().status_code == 200
    assert problem(second)["reason"] == "bulkhead_full"
    assert second.status_code == 503


def test_streaming_response_keeps_id_until_closed(client: Client, logs: CapturedLogs) -> None:
    """Chunks streamed after the view returned still log with the id; closing resets it."""
    response = client.get("/stream", HTTP_X_REQUEST_ID="stream-1")
    body = b"".join(response.streaming_content)
    response.close()
    assert body == b"stream-1\n" * 3
    assert {e["correlation_id"] for e in logs.events if str(e["event"]).startswith("chunk")} == {
        "stream-1"
    }
    assert seawall.get_correlation_id() is None


def test_concurrent_requests_never_mix_ids(logs: CapturedLogs) -> None:
    """100 requests on 16 threads: header, body and log line agree for every one."""
    ids = [f"thread-{n}" for n in range(100)]

    def call(cid: str) -> Any:
        return Client(raise_request_exception=False).get("/hello", HTTP_X_REQUEST_ID=cid)

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(call, ids))
    mismatches = sum(
        r["X-Request-ID"] != cid or r.json()["correlation_id"] != cid
        for r, cid in zip(responses, ids, strict=True)
    )
    assert mismatches == 0
    assert sorted(e["correlation_id"] for e in logs.named("hello handled")) == sorted(ids)


@override_settings(SEAWALL={"correlation": {"header": "X-Correlation-ID"}})
def test_override_settings_rebuilds_the_pipeline(client: Client) -> None:
    """``override_settings(SEAWALL=...)`` takes effect at once (setting_changed)."""
    response = client.get("/hello", HTTP_X_CORRELATION_ID="corr-1")
    assert response["X-Correlation-ID"] == "corr-1"
    assert "X-Request-ID" not in response


def test_bad_settings_are_reported_by_system_check_naming_the_key() -> None:
    """seawall.E001 names the offending key."""
    with override_settings(SEAWALL={"routes": {"GET x/": {"timeout": -1}}}):
        errors = [m for m in run_checks() if m.id == "seawall.E001"]
    (error,) = errors
    assert "routes" in error.msg
    assert "timeout" in error.msg


@pytest.mark.parametrize("name", ["SEAWALL_ROUTES", "SEAWALL_CORRELATION__HEADER"])
def test_seawall_looking_django_settings_are_reported_not_ignored(name: str) -> None:
    """Django reads ``SEAWALL`` only: ``SEAWALL_ROUTES = {...}`` did nothing, silently; now
    seawall.E001 names it."""
    with override_settings(**{name: {"GET x/": {"timeout": 1}}}):
        (error,) = [m for m in run_checks() if m.id == "seawall.E001"]
    assert name in error.msg
    assert "seawall.E001" not in [m.id for m in run_checks()]


def test_bad_settings_leave_app_ready_to_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    """AppConfig.ready() does not raise (``manage.py check`` must get to seawall.E001), and
    building a WSGI handler refuses to start: the E001 line on stderr, exit status 4."""
    from django.core.handlers.wsgi import WSGIHandler

    with override_settings(SEAWALL={"correlation": {"incomming": "accept"}}):
        apps.get_app_config("seawall").ready()
        with pytest.raises(SystemExit) as raised:
            WSGIHandler()
    assert raised.value.code == 4
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("settings.SEAWALL: (seawall.E001) seawall setting correlation.incomming")


@pytest.mark.parametrize(
    ("middleware", "check_id"),
    [
        (
            [
                "django.middleware.common.CommonMiddleware",
                "seawall.integrations.django.SeawallMiddleware",
            ],
            "seawall.W001",
        ),
        (["django.middleware.common.CommonMiddleware"], "seawall.W002"),
    ],
)
def test_middleware_placement_is_checked(middleware: list[str], check_id: str) -> None:
    """A middleware that is not first (W001) or missing (W002) is reported."""
    with override_settings(MIDDLEWARE=middleware):
        ids = {m.id for m in run_checks()}
    assert check_id in ids


def test_correct_setup_passes_all_checks() -> None:
    """The test project itself has no seawall findings."""
    assert [m for m in run_checks() if m.id and m.id.startswith("seawall.")] == []


def test_settings_follow_django_debug_unless_set() -> None:
    """``errors.debug`` defaults to DEBUG; an explicit value wins."""
    with override_settings(DEBUG=True):
        assert get_runtime().pipeline.settings.errors.debug is True
    with override_settings(DEBUG=True, SEAWALL={"errors": {"debug": False}}):
        assert get_runtime().pipeline.settings.errors.debug is False
    assert isinstance(get_runtime().pipeline.settings, Settings)


# -- ASGI -----------------------------------------------------------------------------------------


def asgi_client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(get_asgi_application(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_async_view_under_asgi_has_the_id(logs: CapturedLogs) -> None:
    """An async view under Django's ASGI handler sees the id; the log line carries it."""
    async with asgi_client() as client:
        response = await client.get("/async/hello", headers={"X-Request-ID": "asgi-1"})
    assert response.headers["x-request-id"] == "asgi-1"
    assert response.json() == {"correlation_id": "asgi-1"}
    assert [e["correlation_id"] for e in logs.named("async hello handled")] == ["asgi-1"]


async def test_async_failure_is_one_problem_and_one_event(logs: CapturedLogs) -> None:
    """An async view's exception under ASGI: a 500 problem and exactly one sanitized event."""
    async with asgi_client() as client:
        response = await client.get("/async/boom")
    body = response.json()
    assert response.status_code == 500
    assert body["correlation_id"] == response.headers["x-request-id"]
    (event,) = failures(logs)
    assert event["error_id"] == body["error_id"]
    assert PASSWORD not in logs.text


async def test_async_timeout_cancels_the_view_for_real() -> None:
    """ "GET async/slow" (0.2 s, ASGI): the view is cancelled and the client gets 504."""
    async_cancelled.clear()
    async with asgi_client() as client:
        response = await client.get("/async/slow")
    assert response.status_code == 504
    assert response.json()["reason"] == "timeout"
    assert async_cancelled.is_set()


async def test_asgi_404_and_sync_views_work() -> None:
    """Under ASGI a sync view and Django's 404 get the same treatment as under WSGI."""
    async with asgi_client() as client:
        ok = await client.get("/hello")
        missing = await client.get("/nowhere")
    assert ok.json()["correlation_id"] == ok.headers["x-request-id"]
    assert missing.status_code == 404
    assert missing.json()["correlation_id"] == missing.headers["x-request-id"]


async def test_async_concurrent_requests_never_mix_ids(logs: CapturedLogs) -> None:
    """100 concurrent ASGI requests: header, body and log line agree for every one."""
    ids = [f"task-{n}" for n in range(100)]
    async with asgi_client() as client:
        responses = await asyncio.gather(
            *(client.get("/async/hello", headers={"X-Request-ID": cid}) for cid in ids)
        )
    mismatches = sum(
        r.headers["x-request-id"] != cid or r.json()["correlation_id"] != cid
        for r, cid in zip(responses, ids, strict=True)
    )
    assert mismatches == 0
    assert sorted(e["correlation_id"] for e in logs.named("async hello handled")) == sorted(ids)


def test_requests_leave_no_reference_cycles_for_the_collector(logs: CapturedLogs) -> None:
    """A failing view's traceback holds frames that hold seawall's request state: ending the
    request must let go of the exception, or every failure leaves garbage for the collector."""
    from django.core.wsgi import get_wsgi_application

    handler = get_wsgi_application()
    paths = ["/hello", "/boom", "/errors/denied", "/own-404", "/nowhere"]

    def drive(count: int) -> list[str]:
        statuses: list[str] = []
        for number in range(count):
            environ = {
                "REQUEST_METHOD": "GET", "PATH_INFO": paths[number % len(paths)],
                "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "testserver",
                "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(),
            }  # fmt: skip

            def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                statuses.append(status)
                return None

            body = handler(environ, start_response)
            b"".join(body)
            body.close()
        return statuses

    drive(20)  # warm caches and lazily built state
    with cyclic_garbage() as garbage:
        statuses = drive(100)
    assert {status[:3] for status in statuses} == {"200", "403", "404", "500"}
    assert garbage.count == 0
