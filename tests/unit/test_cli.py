"""The ``seawall`` command's frame: version, usage errors, and the installed console script."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seawall import __version__
from seawall.cli import main


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"seawall {__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit status 2 and a line saying what to do, on stderr."""
    assert main([]) == 2
    assert "say which command" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seawall.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"seawall {__version__}"
