"""The process-wide dead-letter queue and the ``seawall dlq`` command, in process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from seawall import dead_letter
from seawall.cli import main
from seawall.cli.dlq import load_settings, parse_age
from seawall.config.schema import SettingsError
from tests import dead_letter_target as target


def calls() -> list[tuple[object, ...]]:
    """The calls the target module recorded in this process."""
    return target.CALLS


@pytest.fixture
def settings_file(tmp_path: Path) -> Iterator[Path]:
    """A TOML settings file naming a fresh SQLite store; the process-wide queue uses it."""
    path = tmp_path / "seawall.toml"
    path.write_text(
        f'[dead_letter]\npath = "{(tmp_path / "d.sqlite3").as_posix()}"\n', encoding="utf-8"
    )
    dead_letter.configure(load_settings(str(path)))
    target.CALLS.clear()
    yield path
    dead_letter.configure(None)
    dead_letter.default().close()
    dead_letter.configure(None)


def test_put_and_replayer_use_the_process_wide_queue(settings_file: Path) -> None:
    """A replayer registered before or after the queue opens is used by replays."""
    seen: list[object] = []
    dead_letter.replayer("early")(seen.append)
    entry = dead_letter.put("early", {"n": 1}, error=TimeoutError("slow"))
    dead_letter.put("late", {"n": 2})
    dead_letter.replayer("late")(seen.append)
    assert dead_letter.default().get(entry.id) == entry
    assert dead_letter.default().replay().succeeded == 2
    assert seen == [{"n": 1}, {"n": 2}]


def test_configure_closes_the_queue_it_replaces(settings_file: Path, tmp_path: Path) -> None:
    first = dead_letter.default()
    dead_letter.configure({"dead_letter": {"path": str(tmp_path / "other.sqlite3")}})
    second = dead_letter.default()
    assert second is not first
    assert str(second.settings.path).endswith("other.sqlite3")


def test_the_command_in_process(settings_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """list (plain and JSON), show (redacted and raw), replay, purge, with exit statuses."""
    queue = dead_letter.default()
    entry = queue.record_call(
        "mailer", target.remember, ("ann",), {}, attempts=2,
        first_error=ConnectionError("password=hunter2"), last_error=None,
    )  # fmt: skip
    assert entry is not None
    base = ["dlq", "--settings", str(settings_file), "--import", "tests.dead_letter_target"]
    assert main([*base, "list"]) == 0
    row = capsys.readouterr().out.strip().split("\t")
    assert row[:3] == [entry.id, "mailer", "2"]
    assert main([*base, "list", "--json", "--queue", "mailer"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["id"] == entry.id
    assert "hunter2" not in json.dumps(listed)
    assert main([*base, "show", entry.id]) == 0
    assert json.loads(capsys.readouterr().out)["target"] == "tests.dead_letter_target.remember"
    assert main([*base, "show", "nope"]) == 1
    assert "no entry" in capsys.readouterr().err
    assert main([*base, "replay", "--all", entry.id]) == 2
    capsys.readouterr()
    assert main([*base, "replay", entry.id]) == 0
    assert "1 succeeded" in capsys.readouterr().out
    assert calls() == [("ann", entry.idempotency_key)]
    assert main([*base, "purge"]) == 0
    assert capsys.readouterr().out.strip() == "purged: 0 entries"


def test_the_table_when_a_person_reads_it(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dead_letter.put("mailer", 1)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["dlq", "--settings", str(settings_file), "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "ID",
        "QUEUE",
        "ATTEMPTS",
        "CREATED",
        "NEXT",
        "TRY",
        "LAST",
        "ERROR",
        "REPLAYABLE",
    ]
    assert out[-1] == "1 entries"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("30m", 1800),
        ("12h", 43200),
        ("7d", 604800),
        ("2w", 1209600),
        ("1.5h", 5400),
    ],
)
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


def test_settings_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module attribute (mapping or Settings), the environment, and a bad source."""
    module = tmp_path / "dlq_settings_module.py"
    module.write_text('SEAWALL = {"dead_letter": {"max_entries": 7}}\n', encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_settings("dlq_settings_module:SEAWALL").dead_letter.max_entries == 7
    monkeypatch.setenv("SEAWALL_DEAD_LETTER__MAX_ENTRIES", "9")
    assert load_settings(None).dead_letter.max_entries == 9
    with pytest.raises(SettingsError, match=r"module:attribute"):
        load_settings("no_colon_here")
