"""``seawall errors``: a log's failures by fingerprint, agreeing with the in-process analytics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seawall.cli import main
from seawall.context.correlation import reset_correlation_id, set_correlation_id
from seawall.server.pipeline import Pipeline
from seawall.testing import CapturedLogs, capture_logs


def pay() -> None:
    raise ConnectionError("gateway refused card 4111 1111 1111 1111")


def ship() -> None:
    raise TimeoutError("carrier slow")


def failing_traffic(pipeline: Pipeline) -> None:
    plan = [(pay, "POST /pay"), (pay, "POST /pay"), (ship, "POST /ship"), (pay, "POST /pay"),
            (ship, "GET /ship/{id}"), (pay, "POST /retry")]  # fmt: skip
    for n, (fn, route) in enumerate(plan):
        token = set_correlation_id(f"req-{n}")
        try:
            fn()
        except Exception as exc:
            pipeline.problem(exc, method=route.split()[0], path="/", route=route)
        finally:
            reset_correlation_id(token)


@pytest.fixture
def logged(tmp_path: Path) -> tuple[Pipeline, Path]:
    with capture_logs() as logs:
        pipeline = Pipeline()
        failing_traffic(pipeline)
    path = tmp_path / "app.log"
    path.write_text(logs.text, encoding="utf-8")
    return pipeline, path


def test_errors_agrees_with_the_in_process_analytics(
    logged: tuple[Pipeline, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Same failures, same groups: fingerprint, counts, routes, ids and sample message."""
    pipeline, path = logged
    assert main(["errors", str(path), "--json"]) == 0
    from_log = json.loads(capsys.readouterr().out)
    in_process = [g.as_dict() for g in pipeline.analytics.top(100)]
    keys = ("fingerprint", "exception", "frame", "route", "routes", "count", "status",
            "classification", "last_correlation_id", "last_error_id", "sample_message")  # fmt: skip
    assert [{k: g[k] for k in keys} for g in from_log] == [
        {k: g[k] for k in keys} for g in in_process
    ]
    assert [g["count"] for g in from_log] == [3, 1, 1, 1]
    assert "4111" not in json.dumps(from_log)


def test_errors_prints_a_stable_table_when_piped(
    logged: tuple[Pipeline, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, path = logged
    assert main(["errors", str(path), "--limit", "2"]) == 0
    header, first, second = capsys.readouterr().out.splitlines()
    assert header.split("\t")[:3] == ["COUNT", "FINGERPRINT", "EXCEPTION"]
    assert first.split("\t")[0] == "3"
    assert first.split("\t")[3] == "POST /pay"
    assert second.split("\t")[0] == "1"


def test_errors_of_an_empty_or_missing_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], logs: CapturedLogs
) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("", encoding="utf-8")
    assert main(["errors", str(empty), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["errors", str(tmp_path / "absent.log")]) == 2
