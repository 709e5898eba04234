"""``seawall logs``: filters, one request's lines together, stdin, following, plain when piped."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seawall.cli import main
from seawall.cli.logs import LineFilter, renderer, show
from seawall.cli.source import LogSource

LINES = [
    {"event": "request_started", "level": "info", "correlation_id": "a", "route": "GET /a",
     "timestamp": "2026-12-02T10:00:00Z"},
    {"event": "request_started", "level": "info", "correlation_id": "b", "route": "GET /b",
     "timestamp": "2026-12-02T10:00:01Z"},
    {"event": "request_failed", "level": "error", "correlation_id": "a", "route": "GET /a",
     "error_id": "e1", "timestamp": "2026-12-02T10:00:02Z", "_seawall_redacted": ["message"]},
    {"event": "worker_ready", "level": "info", "timestamp": "2026-12-02T10:00:03Z"},
    {"event": "request_rejected", "level": "warning", "correlation_id": "b", "route": "GET /b",
     "error_id": "e2", "timestamp": "2026-12-02T10:00:04Z"},
]  # fmt: skip


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.log"
    text = "\n".join(json.dumps(line) for line in LINES)
    path.write_text("not json, a stray line\n" + text + "\n", encoding="utf-8")
    return path


def events(out: str) -> list[str]:
    return [json.loads(line)["event"] + ":" + str(json.loads(line).get("correlation_id"))
            for line in out.splitlines()]  # fmt: skip


def test_one_requests_lines_come_together_in_order(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["logs", str(log_file), "--json"]) == 0
    assert events(capsys.readouterr().out) == [
        "request_started:a", "request_failed:a", "request_started:b", "request_rejected:b",
        "worker_ready:None",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--correlation-id", "b"], ["request_started:b", "request_rejected:b"]),
        (["--error-id", "e1"], ["request_failed:a"]),
        (["--route", "GET /a"], ["request_started:a", "request_failed:a"]),
        (["--level", "warning"], ["request_failed:a", "request_rejected:b"]),
        (["--since", "2026-12-02T10:00:03Z"], ["worker_ready:None", "request_rejected:b"]),
    ],
)
def test_filters(
    log_file: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: list[str]
) -> None:
    assert main(["logs", str(log_file), "--json", *flags]) == 0
    assert events(capsys.readouterr().out) == expected


def test_console_rendering_is_plain_when_piped(log_file: Path) -> None:
    """Run as a command with stdin piped: the console renderer's text, no colour codes."""
    done = subprocess.run(
        [sys.executable, "-m", "seawall.cli", "logs", "-", "--error-id", "e1"],
        input=log_file.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0
    out = done.stdout.decode()
    assert "request_failed" in out
    assert "error_id=e1" in out
    assert "\x1b[" not in out
    assert "_seawall_redacted" not in out
    assert len(out.splitlines()) == 1


def test_a_missing_file_or_bad_since_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["logs", str(tmp_path / "absent.log")]) == 2
    assert "absent.log" in capsys.readouterr().err
    assert main(["logs", str(tmp_path), "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err


def test_since_takes_a_duration() -> None:
    from datetime import UTC, datetime

    from seawall.cli.timefmt import parse_since

    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert parse_since("15m", now) == datetime(2026, 12, 2, 11, 45, tzinfo=UTC)
    assert parse_since("2h", now).hour == 10
    assert parse_since("2026-12-02T10:00:00").tzinfo is UTC


def test_follow_prints_lines_written_later(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Grouped up to the end of the file, then each new matching line as it is written."""
    with log_file.open("rb") as stream:
        source = LogSource(stream, follow=True)
        later = [
            json.dumps({"event": "request_failed", "level": "error", "correlation_id": "b"}),
            json.dumps({"event": "request_finished", "level": "info", "correlation_id": "c"}),
        ]
        polls = iter(range(10))

        def sleep(_: float) -> None:  # the file grows while the command waits
            n = next(polls)
            if n < len(later):
                with log_file.open("a", encoding="utf-8") as out:
                    out.write(later[n][:10])  # half a line first: held until complete
                    out.flush()
                    out.write(later[n][10:] + "\n")
                return
            raise KeyboardInterrupt

        source.sleep = sleep
        args = type("Args", (), {"json": True})()
        with pytest.raises(KeyboardInterrupt):
            show(source, LineFilter(correlation_id="b"), renderer(args))
    assert events(capsys.readouterr().out) == [
        "request_started:b", "request_rejected:b", "request_failed:b",
    ]  # fmt: skip


def test_the_quick_check_never_drops_a_matching_line() -> None:
    """The byte pre-filter looks for the JSON text of each wanted value."""
    wanted = LineFilter(route='GET /q/"x"', correlation_id="é")
    line = json.dumps({"route": 'GET /q/"x"', "correlation_id": "é"}).encode()
    assert wanted.quick(line)
    assert wanted(json.loads(line))
    assert not LineFilter(level="error")({"level": "nonsense"})
    assert not LineFilter(since=__import__("datetime").datetime.now(__import__("datetime").UTC))(
        {"timestamp": None}
    )


def test_stdin_dash_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = io.TextIOWrapper(io.BytesIO(log_file.read_bytes()))
    monkeypatch.setattr(sys, "stdin", fake)
    assert main(["logs", "-", "--json", "--correlation-id", "a"]) == 0
    assert events(capsys.readouterr().out) == ["request_started:a", "request_failed:a"]
