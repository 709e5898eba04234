"""``seawall check``: every settings error with its key path; exit 1 on errors, 2 on usage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from seawall.cli import main
from seawall.cli.output import table


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
    assert paths == [
        "redactoin",
        "correlation.max_length",
        'routes."GET /a".timeout',
        "alerts.sinks[0].url",
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
