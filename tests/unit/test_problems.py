"""Problem mapping: built-ins, MRO lookup, settings and code mappings, rendering, error events."""

from __future__ import annotations

import asyncio
import json
import os
import sysconfig
from typing import Any

import httpx
import pytest
from starlette.routing import Route, Router

import seawall
from seawall.asgi.middleware import ASGIMiddleware
from seawall.config.settings import Settings
from seawall.errors.event import error_event, fingerprint
from seawall.errors.exceptions import BulkheadFullError, CircuitOpenError, RequestTimeoutError
from seawall.errors.problems import Problem, ProblemRegistry, classify_status, problem
from seawall.errors.render import negotiate, render_html, render_json, response_headers
from seawall.observability.redaction import Redactor
from seawall.testing import capture_logs
from tests.fake_secrets import API_KEY as SECRET

REDACT = Redactor().text
REGISTRY = ProblemRegistry()


def to_problem(exc: BaseException, registry: ProblemRegistry = REGISTRY, **kwargs: Any) -> Problem:
    return registry.to_problem(exc, correlation_id="cid-1", instance="/x", redact=REDACT, **kwargs)


class OutOfStockError(Exception):
    """Mapped in settings."""


class ClearanceError(OutOfStockError):
    """A subclass: inherits its parent's mapping unless it has its own."""


@problem(402, "Payment required", classification="permanent")
class PaymentError(Exception):
    """Mapped in code with the decorator."""


def starlette_http() -> BaseException:
    from starlette.exceptions import HTTPException

    return HTTPException(404, detail="No such order", headers={"X-Hint": "check id"})


def fastapi_validation() -> BaseException:
    from fastapi.exceptions import RequestValidationError

    return RequestValidationError(
        [
            {
                "loc": ("body", "email"),
                "msg": "value is not a valid email",
                "type": "value_error",
                "input": SECRET,
            }
        ]
    )


def werkzeug_http() -> BaseException:
    from werkzeug.exceptions import MethodNotAllowed

    return MethodNotAllowed(valid_methods=["GET"])


def django_exc(name: str) -> BaseException:
    import django.core.exceptions as core
    from django import http

    error: BaseException = {
        "Http404": http.Http404,
        "PermissionDenied": core.PermissionDenied,
        "SuspiciousOperation": core.SuspiciousOperation,
        "BadRequest": core.BadRequest,
    }[name](f"internal {SECRET}")
    return error


def drf_validation() -> BaseException:
    from django.conf import settings as django_settings

    if not django_settings.configured:
        django_settings.configure()
    from rest_framework.exceptions import ValidationError

    error: BaseException = ValidationError({"quantity": ["Ensure this value is greater than 0."]})
    return error


def pydantic_validation() -> BaseException:
    from pydantic import BaseModel, ValidationError

    class Order(BaseModel):
        quantity: int

    try:
        Order.model_validate({"quantity": SECRET})
    except ValidationError as exc:
        return exc
    raise AssertionError


@pytest.mark.parametrize(
    ("make", "status", "classification"),
    [
        (lambda: TimeoutError("read timed out"), 504, "transient"),
        (TimeoutError, 504, "transient"),
        (lambda: ConnectionRefusedError("refused"), 503, "transient"),
        (lambda: PermissionError("denied"), 403, "authorization"),
        (NotImplementedError, 501, "permanent"),
        (lambda: ValueError(SECRET), 500, "unknown"),
        (lambda: KeyError(SECRET), 500, "unknown"),
        (starlette_http, 404, "not_found"),
        (fastapi_validation, 422, "validation"),
        (werkzeug_http, 405, "permanent"),
        (lambda: django_exc("Http404"), 404, "not_found"),
        (lambda: django_exc("PermissionDenied"), 403, "authorization"),
        (lambda: django_exc("SuspiciousOperation"), 400, "validation"),
        (lambda: django_exc("BadRequest"), 400, "validation"),
        (drf_validation, 400, "validation"),
        (pydantic_validation, 422, "validation"),
        (lambda: CircuitOpenError("GET /x", retry_after=2.2), 503, "transient"),
        (lambda: BulkheadFullError("GET /x", retry_after=1), 503, "transient"),
        (lambda: RequestTimeoutError("GET /x"), 504, "transient"),
    ],
)
def test_builtin_mappings(make: Any, status: int, classification: str) -> None:
    """Built-ins keep the framework's status and classify it; status equals the problem status."""
    result = to_problem(make())
    assert result.status == status
    assert result.classification == classification
    assert SECRET not in render_json(result).decode()


def test_framework_safe_messages_and_headers_are_kept_for_4xx() -> None:
    """A 4xx HTTPException keeps its own (redacted) detail and headers."""
    result = to_problem(starlette_http())
    assert result.detail == "No such order"
    assert result.headers["X-Hint"] == "check id"


def test_validation_errors_list_fields_without_inputs() -> None:
    """Validation errors become an ``errors`` member of field, message and type; no input value."""
    result = to_problem(fastapi_validation())
    assert result.extensions["errors"] == [
        {
            "field": "body.email",
            "location": "body",
            "message": "value is not a valid email",
            "type": "value_error",
        }
    ]
    drf = to_problem(drf_validation())
    assert drf.extensions["errors"][0]["field"] == "quantity"
    assert SECRET not in json.dumps(to_problem(pydantic_validation()).extensions)


def test_5xx_detail_never_carries_exception_text() -> None:
    """Secrets in message, args, notes and cause stay out of JSON and HTML bodies."""
    error = RuntimeError(f"db password={SECRET}", SECRET)
    error.add_note(SECRET)
    error.__cause__ = ValueError(SECRET)
    result = to_problem(error)
    for body in (render_json(result), render_html(result)):
        assert SECRET not in body.decode()
        assert b"RuntimeError" not in body


def test_mro_picks_the_most_specific_and_settings_win() -> None:
    """Settings mappings beat built-ins; a subclass uses its parent's mapping."""
    registry = ProblemRegistry.from_settings(
        Settings.from_mapping(
            {
                "errors": {
                    "map": {
                        f"{__name__}.OutOfStockError": {"status": 409, "title": "Out of stock"},
                        "builtins.TimeoutError": {"status": 503, "title": "Busy"},
                    }
                }
            }
        ).errors
    )
    assert to_problem(ClearanceError(), registry).title == "Out of stock"
    assert to_problem(ClearanceError(), registry).status == 409
    assert to_problem(TimeoutError(), registry).status == 503


def test_decorator_registers_in_code() -> None:
    """``@seawall.problem`` maps a user exception class."""
    result = to_problem(PaymentError())
    assert (result.status, result.title, result.classification) == (
        402,
        "Payment required",
        "permanent",
    )
    assert seawall.problem is problem


def test_rejections_carry_retry_after_and_no_store() -> None:
    """Seawall's rejections have an integer Retry-After of at least 1 and Cache-Control: no-store."""
    result = to_problem(CircuitOpenError("GET /x", retry_after=0.2))
    assert result.headers == {"Retry-After": "1", "Cache-Control": "no-store"}
    assert result.extensions["reason"] == "circuit_open"
    assert result.type.endswith("/circuit_open")


def starlette_unavailable() -> BaseException:
    from starlette.exceptions import HTTPException

    return HTTPException(503)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CircuitOpenError("GET /x", retry_after=2.0),
        lambda: BulkheadFullError("GET /x"),
        lambda: RequestTimeoutError("GET /x"),
        lambda: TimeoutError("read timed out"),
        lambda: ConnectionRefusedError("refused"),
        starlette_unavailable,
    ],
)
def test_transient_problems_are_never_cached(make: Any) -> None:
    """A transient failure (a rejection, a timeout, a 503) says Cache-Control: no-store, so no
    cache keeps serving the failure after the cause is gone."""
    result = to_problem(make())
    assert result.classification == "transient"
    assert result.headers["Cache-Control"] == "no-store"


class UnprintableError(Exception):
    """An exception whose message cannot be rendered."""

    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def test_unprintable_exception_gets_one_placeholder_in_problem_and_event() -> None:
    """An exception whose __str__ raises reads the same placeholder in the debug problem and in
    the error event, instead of breaking the error path."""
    error = UnprintableError()
    result = to_problem(error, debug=True)
    event = error_event(error, result, method="GET", route=None, redactor_text=REDACT)
    assert result.extensions["message"] == event["message"] == "[unrenderable UnprintableError]"


def test_debug_mode_adds_class_and_redacted_message() -> None:
    """Debug mode shows the exception class and a redacted message; never by default."""
    error = RuntimeError(f"token {SECRET}")
    assert "exception" not in to_problem(error).extensions
    debug = to_problem(error, debug=True)
    assert debug.extensions["exception"] == "builtins.RuntimeError"
    assert SECRET not in debug.extensions["message"]


def test_error_ids_are_unique() -> None:
    """10 000 error ids never repeat."""
    ids = {to_problem(RuntimeError()).extensions["error_id"] for _ in range(10_000)}
    assert len(ids) == 10_000


def test_breaker_classification() -> None:
    """Transient and unknown failures count for the breaker; 429 is ignored; 4xx succeed."""
    assert REGISTRY.classify_for_breaker(ConnectionError()) == "failure"
    assert REGISTRY.classify_for_breaker(RuntimeError()) == "failure"
    assert REGISTRY.classify_for_breaker(PermissionError()) == "success"
    assert classify_status(429) == "rate_limited"


@pytest.mark.parametrize(
    ("accept", "fmt", "expected"),
    [
        (None, "auto", "json"),
        ("*/*", "auto", "json"),
        ("application/json", "auto", "json"),
        ("application/problem+json", "auto", "json"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "auto", "html"),
        ("application/json;q=0.5, text/html;q=0.4", "auto", "json"),
        ("text/html;q=0.8, application/json;q=0.8", "auto", "json"),
        ("text/html, application/problem+json", "auto", "json"),
        ("text/html", "json", "json"),
    ],
)
def test_negotiation(accept: str | None, fmt: str, expected: str) -> None:
    """HTML only for clients that rank it above JSON, and never when settings say json."""
    assert negotiate(accept, fmt) == expected


def test_json_member_order_and_headers() -> None:
    """RFC 9457 members first, then extensions; content type and length are set."""
    result = to_problem(PermissionError())
    body = render_json(result)
    assert list(json.loads(body))[:5] == ["type", "title", "status", "detail", "instance"]
    headers = dict(response_headers(result, "json", len(body)))
    assert headers["content-type"] == "application/problem+json"
    assert headers["content-length"] == str(len(body))


def test_html_is_escaped() -> None:
    """Titles and details are HTML-escaped in the page."""
    page = render_html(Problem(status=400, title="<script>x</script>", detail="a & b")).decode()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def _raise_here() -> None:
    raise RuntimeError(f"first {SECRET}")


def _event(exc_factory: Any) -> dict[str, Any]:
    try:
        exc_factory()
    except RuntimeError as exc:
        return error_event(
            exc, to_problem(exc), method="GET", route="GET /x", redactor_text=REDACT, frames=5
        )
    raise AssertionError


def test_error_event_fields_and_stable_fingerprint() -> None:
    """The event has ids, route, status, class, redacted message and frames; the fingerprint
    is stable across repeats of the same failure and differs for another code path."""
    first, second = _event(_raise_here), _event(_raise_here)

    def elsewhere() -> None:
        raise RuntimeError("other")

    other = _event(elsewhere)
    assert {
        "correlation_id",
        "error_id",
        "method",
        "route",
        "status",
        "classification",
        "exception",
        "message",
        "traceback",
        "fingerprint",
    } <= first.keys()
    assert SECRET not in json.dumps(first)
    assert first["traceback"][-1]["function"] == "_raise_here"
    assert set(first["traceback"][-1]) == {"file", "line", "function"}
    assert first["fingerprint"] == second["fingerprint"] != other["fingerprint"]


def test_fingerprint_leaves_out_library_and_seawall_frames() -> None:
    """Frames of installed packages, the standard library and seawall itself do not change the
    fingerprint, so one app failure groups together whatever path led to it."""
    paths = sysconfig.get_paths()
    error = RuntimeError("boom")
    app = (__file__, 10, "view", None)
    installed = (os.path.join(paths["purelib"], "framework", "routing.py"), 1, "dispatch", None)
    stdlib = (os.path.join(paths["stdlib"], "asyncio", "events.py"), 1, "_run", None)
    ours = (
        os.path.join(os.path.dirname(seawall.__file__), "asgi", "middleware.py"),
        1,
        "run",
        None,
    )
    alone = fingerprint(error, [app])
    assert [fingerprint(error, [frame, app]) for frame in (installed, stdlib, ours)] == [alone] * 3
    assert fingerprint(error, [(__file__, 10, "other_view", None)]) != alone


def test_error_event_causes_are_redacted_and_cycle_safe() -> None:
    """Chained causes are listed redacted; a cause cycle ends the list instead of looping."""
    outer, inner = RuntimeError("outer"), ValueError(f"inner {SECRET}")
    outer.__cause__, inner.__cause__ = inner, outer
    event = error_event(outer, to_problem(outer), method="GET", route=None, redactor_text=REDACT)
    assert [c["exception"] for c in event["causes"]] == ["builtins.ValueError"]
    assert SECRET not in json.dumps(event)


def test_frames_are_bounded() -> None:
    """A deep traceback keeps only the last ``frames`` entries."""

    def recurse(n: int) -> None:
        if n == 0:
            raise RuntimeError("deep")
        recurse(n - 1)

    try:
        recurse(100)
    except RuntimeError as exc:
        event = error_event(
            exc, to_problem(exc), method="GET", route=None, redactor_text=REDACT, frames=7
        )
    assert len(event["traceback"]) == 7


async def test_concurrent_failures_never_mix_ids() -> None:
    """100 concurrent failing requests: body, header and log event carry the same ids."""

    async def fail(request: Any) -> None:
        await asyncio.sleep(0)
        raise RuntimeError(f"boom {SECRET}")

    app = ASGIMiddleware(Router(routes=[Route("/fail", fail)]))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with capture_logs() as logs:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            responses = await asyncio.gather(
                *(client.get("/fail", headers={"X-Request-ID": f"f-{n}"}) for n in range(100))
            )
    events = {e["correlation_id"]: e for e in logs.named("request_failed")}
    assert len(events) == 100
    for n, response in enumerate(responses):
        body = response.json()
        assert response.headers["x-request-id"] == body["correlation_id"] == f"f-{n}"
        assert events[f"f-{n}"]["error_id"] == body["error_id"]
    assert SECRET not in logs.text
