"""``seawall check``: every settings error with its key path; exit 1 on errors, 2 on usage."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from seawall.cli import main
from seawall.cli.check import validate
from seawall.cli.output import table
from seawall.config.parse import collecting
from seawall.config.settings import Settings, SettingsError


def test_a_toml_file_with_errors_lists_each_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.seawall]\nredactoin = 1\n[tool.seawall.correlation]\nmax_length = -1\n"
        '[tool.seawall.alerts]\nsinks = [{type = "slack", url = "ftp://x"}]\n'
        '[tool.seawall.routes."GET /a"]\ntimeout = "soon"\n',
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    paths = [line.split(":")[0] for line in out]
    assert paths == [  # in the order of the file, not of the sections
        "redactoin",
        "correlation.max_length",
        "alerts.sinks[0].url",
        'routes."GET /a".timeout',
    ]
    assert "did you mean" in out[0]


def test_valid_settings_say_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "seawall.toml"
    path.write_text('[alerts]\nsinks = [{type = "log"}]\n', encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")


def test_module_attribute_and_django_settings_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "shop_settings.py").write_text(
        'SEAWALL = {"alerts": {"cooldown": -5}}\nCONFIG = {"logging": {"level": "LOUD"}}\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check", "shop_settings"]) == 1
    assert capsys.readouterr().out.startswith("alerts.cooldown:")
    assert main(["check", "shop_settings:CONFIG"]) == 1
    assert capsys.readouterr().out.startswith("logging.level:")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop_settings")
    assert main(["check"]) == 1
    sys.modules.pop("shop_settings", None)


def test_unreadable_sources_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    assert main(["check"]) == 2
    assert main(["check", "no_such_module_here"]) == 2
    assert main(["check", "json:NOPE"]) == 2
    assert main(["check", "json"]) == 2
    (tmp_path / "bad.toml").write_text("[x\n", encoding="utf-8")
    assert main(["check", "bad.toml"]) == 2
    err = capsys.readouterr().err
    assert "cannot import" in err
    assert "no attribute" in err
    assert "no SEAWALL" in err


def test_tables_align_for_people() -> None:
    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.text += text

    out = Terminal()
    table(("A", "LONGER", "LAST"), [(1, None, "x"), (22, "y", "z")], out)  # type: ignore[arg-type]
    assert out.text.splitlines() == ["A   LONGER  LAST", "1   -       x", "22  y       z"]


def lines(raw: Mapping[str, object]) -> list[str]:
    """What ``seawall check`` prints for ``raw``: ``path: message`` per error."""
    return [
        f"{e.path}: {str(e).removeprefix(f'seawall setting {e.path}: ')}" for e in validate(raw)
    ]


def first_error(raw: Mapping[str, object]) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        Settings.from_mapping(raw)
    return info.value


SEVERAL = {
    "defaults": {"timeout": 0, "timeout_mode": "later", "max_wait": -1},
    "routes": {
        "GET /items/{id}": {"timeout": "soon", "max_concurrency": 0, "critical": "yes"},
        "POST /orders": {"breaker": {"failure_rate": 2}, "fallback_on": ["never"]},
    },
    "dependencies": {
        "payments": {"retry": {"attempts": 0}, "hosts": ["https://pay.example"]},
        "search": {"timeout": -1, "recovery": {"action": "no.such.module.act"}},
    },
}


def test_several_errors_of_one_section_are_each_printed() -> None:
    """Three bad keys of ``defaults`` give three lines, not the first one."""
    assert lines({"defaults": SEVERAL["defaults"]}) == [
        "defaults.timeout: 0 is out of range: must be greater than 0",
        "defaults.timeout_mode: 'later' is not one of 'deadline', 'thread'",
        "defaults.max_wait: -1 is out of range: must be at least 0",
    ]


def test_every_error_of_one_route_and_of_the_next_route() -> None:
    """A bad route hides neither its own other errors nor the next route's."""
    assert [line.split(": ")[0] for line in lines({"routes": SEVERAL["routes"]})] == [
        'routes."GET /items/{id}".timeout',
        'routes."GET /items/{id}".max_concurrency',
        'routes."GET /items/{id}".critical',
        'routes."POST /orders".breaker.failure_rate',
        'routes."POST /orders".fallback_on',
    ]


def test_the_errors_of_two_dependencies_are_each_printed() -> None:
    """Each dependency reports its own errors with its full key path."""
    found = lines({"dependencies": SEVERAL["dependencies"]})
    assert [line.split(": ")[0] for line in found] == [
        "dependencies.payments.retry.attempts",
        "dependencies.payments.hosts",
        "dependencies.search.timeout",
        "dependencies.search.recovery.action",
    ]
    assert found[0] == "dependencies.payments.retry.attempts: 0 is out of range: must be at least 1"
    assert "cannot import recovery action 'no.such.module.act'" in found[3]


def test_an_unknown_key_beside_a_bad_value_in_one_table() -> None:
    """A misspelt key and a bad value of the same table are both printed, in file order."""
    found = lines({"alerts": {"cooldwn": 5, "queue_size": 0, "retires": 2}})
    assert [line.split(": ")[0] for line in found] == [
        "alerts.cooldwn",
        "alerts.queue_size",
        "alerts.retires",
    ]
    assert "did you mean 'cooldown'?" in found[0]
    assert "did you mean 'retries'?" in found[2]


def test_each_sink_and_each_health_check_reports_its_own_errors() -> None:
    """Lists and maps of entries are read entry by entry: one bad entry hides no other."""
    raw = {
        "health": {"checks": {"db": "no.such.module.check", "cache": 5}, "timeout": 0},
        "alerts": {
            "sinks": [
                {"type": "slakc", "url": "x"},
                {"type": "webhook", "url": "ftp://x", "secrett": "s"},
                {"type": "slack"},
            ]
        },
    }
    assert [line.split(": ")[0] for line in lines(raw)] == [
        "health.checks.db",
        "health.checks.cache",
        "health.timeout",
        "alerts.sinks[0].type",  # its other keys depend on the type: not read
        "alerts.sinks[1].url",
        "alerts.sinks[1].secrett",
        "alerts.sinks[2].url",
    ]


def test_a_rule_across_keys_is_silent_when_a_key_it_reads_is_wrong() -> None:
    """``max_open_for`` is compared with ``open_for`` only when ``open_for`` itself is valid:
    the comparison with its default would be an echo, not a second error."""
    breaker = {"open_for": -1, "max_open_for": 1}
    assert [line.split(": ")[0] for line in lines({"defaults": {"breaker": breaker}})] == [
        "defaults.breaker.open_for"
    ]
    breaker = {"open_for": 10, "max_open_for": 1, "window": 0}
    assert [line.split(": ")[0] for line in lines({"defaults": {"breaker": breaker}})] == [
        "defaults.breaker.max_open_for",
        "defaults.breaker.window",
    ]


def test_a_route_key_error_still_reads_its_policy() -> None:
    """A bad route key and the bad values under it are all printed."""
    assert [line.split(": ")[0] for line in lines({"routes": {"FETCH /x": {"timeout": -2}}})] == [
        'routes."FETCH /x"',
        'routes."FETCH /x".timeout',
    ]


@pytest.mark.parametrize(
    "raw",
    [
        SEVERAL,
        {"defaults": SEVERAL["defaults"]},
        {"routes": SEVERAL["routes"]},
        {"dependencies": SEVERAL["dependencies"]},
        {"redactoin": 1, "correlation": {"max_length": -1, "header": "Cookie"}},
        {"alerts": {"sinks": [{"type": "slakc"}], "cooldown": -1}},
        {"routes": {"/a": {"max_queue": 2}, "/b": {"max_queue": 2, "max_concurrency": 1}}},
        {"errors": {"map": {"builtins.KeyError": {"classification": "odd"}}}},
    ],
)
def test_from_mapping_still_raises_the_first_error(raw: Mapping[str, object]) -> None:
    """Start-up is unchanged: the first error met raises, the same one collecting records
    first, and ``seawall check`` prints it among the others."""
    raised = first_error(raw)
    with collecting() as errors:
        Settings.from_mapping(raw)
    assert type(raised) is SettingsError
    assert (raised.path, str(raised)) == (errors[0].path, str(errors[0]))
    assert len(errors) > 1
    assert (raised.path, str(raised)) in {(e.path, str(e)) for e in validate(raw)}


def test_collecting_ends_with_its_block() -> None:
    """After a check, the same process raises at the first error again."""
    with collecting():
        Settings.from_mapping({"defaults": {"timeout": 0}})
    assert first_error({"defaults": {"timeout": 0}}).path == "defaults.timeout"


def test_a_mapping_that_holds_itself_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module's settings that refer to themselves end in an error, not a hang."""
    (tmp_path / "loop_settings.py").write_text(
        'CONFIG = {"logging": {}}\nfor key in "abcdefghijklmnopqrstuvwxyz":\n'
        '    CONFIG["logging"][key] = CONFIG\n',
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "loop_settings:CONFIG"]) == 1
    assert capsys.readouterr().out.startswith("logging.a: unknown key 'a'")
    sys.modules.pop("loop_settings", None)


def test_the_command_prints_every_error_when_run(tmp_path: Path) -> None:
    """``python -m seawall check FILE``, a real process: one plain line per error, exit 1."""
    path = tmp_path / "seawall.toml"
    path.write_text(
        '[routes."GET /items/{id}"]\ntimeout = "soon"\nmax_concurrency = 0\n'
        '[routes."POST /orders"]\ncritical = "yes"\n'
        "[dependencies.payments.retry]\nattempts = 0\nbackof = 1\n",
        encoding="utf-8",
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "seawall", "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "routes.\"GET /items/{id}\".timeout: expected a number, got 'soon'",
        'routes."GET /items/{id}".max_concurrency: 0 is out of range: must be at least 1',
        "routes.\"POST /orders\".critical: expected true or false, got 'yes'",
        "dependencies.payments.retry.attempts: 0 is out of range: must be at least 1",
        "dependencies.payments.retry.backof: unknown key 'backof'; did you mean 'backoff'?"
        " (known: attempts, backoff, max_backoff, jitter, on, budget)",
    ]
    assert done.stderr.strip() == f"{path}: 5 errors"


def test_keys_that_are_not_text_are_each_an_unknown_key() -> None:
    """Settings from Python may hold keys TOML cannot: each is named, the entries beside it
    are still read."""
    found = lines(
        {
            "routes": {1: {}, "GET /a": {"timeout": 0}},
            "dependencies": {2: {}, "pay": {"timeout": 0}},
            "health": {"checks": {3: "builtins.int", "db": 5}},
            "errors": {"map": {4: {}, "builtins.KeyError": {"status": 200}}},
        }
    )
    assert [line.split(": ")[0] for line in found] == [
        'routes."1"',
        'routes."GET /a".timeout',
        'dependencies."2"',
        "dependencies.pay.timeout",
        'health.checks."3"',
        "health.checks.db",
        'errors.map."4"',
        'errors.map."builtins.KeyError".status',
    ]
    assert found[0] == 'routes."1": unknown key 1 (known: GET /a)'
