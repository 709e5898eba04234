"""Flask's test client leaves bodies open unless told otherwise: the breaker and bulkhead hear
the outcome of a whole (not streamed) response as soon as the view returned it; only the
correlation id waits for the body to be closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, jsonify, stream_with_context

import seawall
from seawall.integrations.flask import Seawall
from seawall.testing import CapturedLogs

BREAKER = {"minimum_calls": 2, "failure_rate": 0.5, "open_for": 60, "jitter": 0}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {
        "routes": {
            "GET /flaky": {"breaker": BREAKER},
            "GET /gate": {"max_concurrency": 1},
            "GET /stream": {"max_concurrency": 1},
            "GET /generated": {"max_concurrency": 1},
        }
    }

    @app.get("/flaky")
    def flaky() -> Any:
        raise ConnectionError("upstream down")

    @app.get("/gate")
    def gate() -> Any:
        return jsonify(correlation_id=seawall.get_correlation_id())

    @app.get("/stream")
    def stream() -> Response:
        def lines() -> Iterator[str]:
            yield f"{seawall.get_correlation_id()}\n"

        return Response(stream_with_context(lines()))

    @app.get("/generated")
    def generated() -> Response:
        def lines() -> Iterator[str]:
            yield "one\n"

        return Response(lines())

    Seawall(app)
    return app


def test_breaker_opens_without_closing_the_responses(logs: CapturedLogs) -> None:
    """Two unclosed 503 failures open the breaker: the third call is refused (circuit_open)."""
    client = create_app().test_client()
    first, second, third = (client.get("/flaky") for _ in range(3))
    assert [first.status_code, second.status_code] == [503, 503]
    assert third.status_code == 503
    assert third.get_json()["reason"] == "circuit_open"
    for response in (third, second, first):
        response.close()


def test_bulkhead_slot_is_free_once_the_status_is_known(logs: CapturedLogs) -> None:
    """With ``max_concurrency: 1``, unclosed answers do not hold the slot."""
    client = create_app().test_client()
    responses = [client.get("/gate") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    for response in reversed(responses):  # the last one set the id that is current
        response.close()


def test_a_streamed_body_keeps_its_id_and_slot_until_it_is_closed(logs: CapturedLogs) -> None:
    """A stream is work in progress (it may still fail, or end past its deadline): it keeps its
    id and its route's slot until it is read or closed; then both are free."""
    client = create_app().test_client()
    first = client.get("/generated", headers={"X-Request-ID": "stream-1"})
    assert seawall.get_correlation_id() == "stream-1"
    refused = client.get("/generated", headers={"X-Request-ID": "stream-2"})
    assert refused.status_code == 503
    assert refused.get_json()["reason"] == "bulkhead_full"
    refused.close()
    first.close()
    assert seawall.get_correlation_id() is None
    again = client.get("/generated", headers={"X-Request-ID": "stream-3"})
    assert again.status_code == 200
    again.close()
    streamed = client.get("/stream", headers={"X-Request-ID": "stream-4"})
    assert streamed.get_data(as_text=True) == "stream-4\n"
    streamed.close()
    assert seawall.get_correlation_id() is None


def test_a_streamed_generator_logs_with_the_id_until_its_last_chunk(logs: CapturedLogs) -> None:
    """A guarded route's streamed body (no ``stream_with_context``) runs after the view returned:
    every log line it writes, the last included, carries the request's id, redacted."""
    import logging

    app = Flask(__name__)
    app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=False)
    app.config["SEAWALL"] = {"routes": {"GET /feed": {"max_concurrency": 1}}}
    log = logging.getLogger("tests.flask.feed")

    @app.get("/feed")
    def feed() -> Response:
        def chunks() -> Iterator[str]:
            for n in range(3):
                log.info("chunk %d password=hunter2secret", n)
                yield f"{n}:{seawall.get_correlation_id()}\n"
            log.info("feed done")

        return Response(chunks())

    Seawall(app)
    response = app.test_client().get("/feed", headers={"X-Request-ID": "feed-7"})
    assert response.get_data(as_text=True) == "0:feed-7\n1:feed-7\n2:feed-7\n"
    response.close()
    lines = [e for e in logs if e.get("logger") == "tests.flask.feed"]
    assert [e["event"].split(" password")[0] for e in lines] == [
        "chunk 0", "chunk 1", "chunk 2", "feed done",
    ]  # fmt: skip
    assert {e.get("correlation_id") for e in lines} == {"feed-7"}
    assert "hunter2secret" not in logs.text
    assert seawall.get_correlation_id() is None


def test_only_admitted_requests_run_an_after_request_function() -> None:
    """Seawall registers no app-wide after-request hook (each costs every request a call): a
    route without policies runs none of seawall's, a guarded one runs one for its admission."""
    from flask import request

    app = create_app()
    assert not app.after_request_funcs
    seen: dict[str, int] = {}

    @app.teardown_request
    def record(_exc: BaseException | None) -> None:
        from flask.globals import request_ctx

        seen[request.path] = len(request_ctx._after_request_functions)

    client = app.test_client()
    for path in ("/gate", "/nowhere"):
        client.get(path).close()
    assert seen == {"/gate": 1, "/nowhere": 0}
