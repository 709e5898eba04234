"""Flask adapter in production mode: ids, problems for every error, policies, app factories."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, abort, jsonify, stream_with_context
from flask.testing import FlaskClient

import seawall
from seawall.config.settings import SettingsError
from seawall.integrations.flask import Seawall
from seawall.testing import CapturedLogs
from tests.fake_secrets import PASSWORD

calls: dict[str, int] = {}
extension = Seawall()


class BufferedClient(FlaskClient):
    """Reads and closes every body, as a WSGI server does (Werkzeug's default leaves it open)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.test_client_class = BufferedClient
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {
        "routes": {
            "GET /items/<int:item_id>": {
                "breaker": {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}
            },
            "GET /slow": {"timeout": 0.1, "timeout_mode": "thread", "max_concurrency": 2},
        }
    }
    app.config.update(config or {})
    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @app.get("/hello")
    def hello() -> Any:
        return jsonify(correlation_id=seawall.get_correlation_id())

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        calls["item"] = calls.get("item", 0) + 1
        if item_id == 0:
            raise ConnectionError("upstream down")
        return jsonify(item_id=item_id)

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError(f"login failed password={PASSWORD}")

    @app.get("/forbidden")
    def forbidden() -> Any:
        abort(403)

    @app.get("/slow")
    def slow() -> Any:
        time.sleep(2)
        return jsonify(done=True)

    @app.get("/own-id")
    def own_id() -> Any:
        return "x", 200, {"X-Request-ID": "app-set", "Access-Control-Expose-Headers": "X-Total"}

    @app.get("/stream")
    def stream() -> Response:
        def lines() -> Iterator[str]:
            for n in range(2):
                yield f"{n} {seawall.get_correlation_id()}\n"

        return Response(stream_with_context(lines()))

    @shop.get("/orders/<int:order_id>")
    @seawall.policy(breaker={"minimum_calls": 1, "failure_rate": 1.0, "open_for": 30})
    def order(order_id: int) -> Any:
        raise TimeoutError("inventory timed out")

    app.register_blueprint(shop)
    extension.init_app(app)
    return app


@pytest.fixture
def client(logs: CapturedLogs) -> Any:
    return create_app().test_client()


def test_id_on_200(client: Any) -> None:
    """The id is on the response and visible in the view."""
    response = client.get("/hello", headers={"X-Request-ID": "fl-1"})
    assert response.headers["X-Request-ID"] == "fl-1"
    assert response.get_json() == {"correlation_id": "fl-1"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("POST", "/hello", 405), ("GET", "/forbidden", 403)],
)
def test_framework_errors_are_problems_with_the_id(
    client: Any, method: str, path: str, status: int
) -> None:
    """Routing errors and abort() answer problem+json with the id."""
    response = client.open(path, method=method, headers={"X-Request-ID": f"fl-{status}"})
    assert response.status_code == status
    assert response.content_type.startswith("application/problem+json")
    assert (
        response.get_json()["correlation_id"] == f"fl-{status}" == response.headers["X-Request-ID"]
    )


def test_500_is_one_sanitized_event_and_flask_does_not_log(client: Any, logs: CapturedLogs) -> None:
    """An unhandled exception is one redacted event; Flask's own logger adds nothing."""
    response = client.get("/boom", headers={"X-Request-ID": "fl-500"})
    assert response.status_code == 500
    assert response.get_json()["correlation_id"] == "fl-500"
    assert len(logs.named("request_failed")) == 1
    assert logs.named("request_failed")[0]["route"] == "GET /boom"
    assert not [e for e in logs.events if "Exception on" in str(e.get("event"))]
    assert PASSWORD not in logs.text
    assert PASSWORD not in response.get_data(as_text=True)


def test_breaker_keyed_by_flask_rule(client: Any) -> None:
    """``GET /items/<int:item_id>`` opens after failures and rejects without calling the view."""
    for _ in range(2):
        assert client.get("/items/0").status_code == 503
    before = calls["item"]
    rejected = client.get("/items/5")
    assert rejected.status_code == 503
    assert rejected.get_json()["reason"] == "circuit_open"
    assert int(rejected.headers["Retry-After"]) >= 1
    assert calls["item"] == before


def test_open_breaker_serves_the_last_good_answer_of_the_url(logs: CapturedLogs) -> None:
    """With ``stale_if_error`` the open breaker answers a URL it answered before with that
    answer (and today's id); a URL it never answered gets the 503 problem."""
    breaker = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 30}
    app = create_app(
        {
            "SEAWALL": {
                "routes": {"GET /items/<int:item_id>": {"breaker": breaker, "stale_if_error": 60}}
            }
        }
    )
    client = app.test_client()
    assert client.get("/items/5").get_json() == {"item_id": 5}
    for _ in range(2):
        client.get("/items/0")
    stale = client.get("/items/5", headers={"X-Request-ID": "now-4"})
    assert (stale.status_code, stale.get_json()) == (200, {"item_id": 5})
    assert stale.headers["Seawall-Stale"] == "circuit_open"
    assert stale.headers.getlist("X-Request-ID") == ["now-4"]
    assert client.get("/items/6").get_json()["reason"] == "circuit_open"


def test_policy_decorator_on_a_blueprint_view(client: Any) -> None:
    """``@seawall.policy`` on a blueprint view gives it its own breaker."""
    assert client.get("/shop/orders/1").status_code == 504
    assert client.get("/shop/orders/1").get_json()["reason"] == "circuit_open"


def test_thread_mode_timeout_answers_504(client: Any) -> None:
    """A slow view in thread mode is abandoned at its timeout with a 504 problem."""
    started = time.monotonic()
    response = client.get("/slow")
    assert response.status_code == 504
    assert time.monotonic() - started < 1.5


def test_streamed_body_keeps_the_id(client: Any) -> None:
    """stream_with_context bodies see the request's id."""
    response = client.get("/stream", headers={"X-Request-ID": "fl-stream"})
    assert response.get_data(as_text=True) == "0 fl-stream\n1 fl-stream\n"


def test_config_keys_and_errors_at_init_app(logs: CapturedLogs) -> None:
    """``SEAWALL_*`` config keys override scalars; a bad value fails init_app naming the key."""
    app = create_app({"SEAWALL_CORRELATION__HEADER": "X-Correlation-ID"})
    response = app.test_client().get("/hello", headers={"X-Correlation-ID": "cfg-1"})
    assert response.headers["X-Correlation-ID"] == "cfg-1"
    with pytest.raises(SettingsError, match=r"correlation\.max_length"):
        create_app({"SEAWALL_CORRELATION__MAX_LENGTH": 0})


@pytest.mark.parametrize(
    ("config", "debug"),
    [
        ({"DEBUG": True}, True),
        ({"DEBUG": True, "SEAWALL_ERRORS__DEBUG": False}, False),
        ({}, False),
    ],
)
def test_app_debug_adds_details_unless_a_config_key_sets_them(
    logs: CapturedLogs, config: dict[str, Any], debug: bool
) -> None:
    """``app.debug`` turns on debug members in problems; ``SEAWALL_ERRORS__DEBUG`` wins over it."""
    body = create_app(config).test_client().get("/boom").get_json()
    assert ("exception" in body) is debug
    assert PASSWORD not in str(body)


def test_one_extension_serves_two_apps(logs: CapturedLogs) -> None:
    """The app factory pattern: each app keeps its own pipeline in app.extensions."""
    first, second = create_app(), create_app({"SEAWALL_CORRELATION__INCOMING": "ignore"})
    assert first.extensions["seawall"] is not second.extensions["seawall"]
    assert (
        first.test_client().get("/hello", headers={"X-Request-ID": "keep"}).headers["X-Request-ID"]
        == "keep"
    )
    assert (
        second.test_client().get("/hello", headers={"X-Request-ID": "keep"}).headers["X-Request-ID"]
        != "keep"
    )


def test_no_id_survives_the_requests(client: Any) -> None:
    """After requests (ok, failing, rejected, streamed) the test thread holds no id."""
    for path in ("/hello", "/boom", "/nowhere", "/stream", "/items/0"):
        client.get(path)
    assert seawall.get_correlation_id() is None


def test_app_set_id_is_replaced_and_expose_header_merged(client: Any) -> None:
    """An id header set by the view is replaced once; its expose list gains the name."""
    response = client.get("/own-id", headers={"X-Request-ID": "fl-own"})
    assert response.headers.getlist("X-Request-ID") == ["fl-own"]
    assert response.headers["Access-Control-Expose-Headers"] == "X-Total, X-Request-ID"


def test_full_bulkhead_answers_503(logs: CapturedLogs) -> None:
    """With its only slot taken by a running request, a route refuses the next one at once."""
    import threading

    entered, release = threading.Event(), threading.Event()
    app = Flask(__name__)
    app.test_client_class = BufferedClient
    app.config.update(
        PROPAGATE_EXCEPTIONS=False, SEAWALL={"routes": {"GET /held": {"max_concurrency": 1}}}
    )

    @app.get("/held")
    def held() -> Any:
        entered.set()
        release.wait(10)
        return "done"

    Seawall(app)
    client = app.test_client()
    worker = threading.Thread(target=client.get, args=("/held",))
    worker.start()
    assert entered.wait(10)
    refused = client.get("/held")
    release.set()
    worker.join(10)
    assert refused.status_code == 503
    assert refused.get_json()["reason"] == "bulkhead_full"


def test_environ_keeps_no_seawall_state_after_the_response(logs: CapturedLogs) -> None:
    """The request's hand-over object leaves the environ once the body is closed (no cycle keeps it)."""
    from flask import request

    from seawall.server.keys import HANDOVER

    app = create_app()
    seen: list[dict[str, Any]] = []

    @app.after_request
    def keep_environ(response: Response) -> Response:
        seen.append(request.environ)
        return response

    assert app.test_client().get("/items/5").status_code == 200
    assert HANDOVER not in seen[0]


def test_no_admission_without_the_wsgi_layer(logs: CapturedLogs) -> None:
    """Outside seawall's WSGI layer (a bare request context) nothing would finish a ticket: none is taken."""
    app = Flask(__name__)
    app.test_client_class = BufferedClient
    app.config["SEAWALL"] = {"routes": {"GET /held": {"max_concurrency": 1}}}
    app.add_url_rule("/held", "held", lambda: "done")
    Seawall(app)
    for _ in range(2):
        with app.test_request_context("/held"):
            assert app.preprocess_request() is None
    assert app.test_client().get("/held").status_code == 200


def test_thread_mode_policy_of_a_view_holds_on_every_request(logs: CapturedLogs) -> None:
    """A view's own ``@seawall.policy`` thread-mode timeout still applies once its view is wrapped."""
    import threading

    release = threading.Event()
    app = Flask(__name__)
    app.test_client_class = BufferedClient
    app.config.update(PROPAGATE_EXCEPTIONS=False)

    @app.get("/stuck")
    @seawall.policy(timeout=0.1, timeout_mode="thread")
    def stuck() -> Any:
        release.wait(10)
        return "late"

    Seawall(app)
    client = app.test_client()
    try:
        assert [client.get("/stuck").status_code for _ in range(2)] == [504, 504]
    finally:
        release.set()


@pytest.mark.parametrize("raw", ["routes", ["routes"], 3])
def test_a_seawall_config_that_is_no_mapping_names_app_config(raw: object) -> None:
    """``app.config["SEAWALL"] = "routes"``: one SettingsError naming where it came from."""
    app = Flask(__name__)
    app.config["SEAWALL"] = raw
    with pytest.raises(SettingsError) as info:
        Seawall(app)
    assert info.value.path == 'app.config["SEAWALL"]'
    assert "\n" not in str(info.value)


def test_a_flask_config_key_naming_a_section_only_is_refused() -> None:
    """``app.config["SEAWALL_ROUTES"] = {...}`` was silently ignored: now it names itself."""
    app = Flask(__name__)
    app.config["SEAWALL_ROUTES"] = {"GET /x": {"timeout": 1}}
    with pytest.raises(SettingsError) as info:
        Seawall(app)
    assert info.value.path == "SEAWALL_ROUTES"
