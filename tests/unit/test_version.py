"""One version source: the installed distribution's version is ``seawall.__version__``."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import seawall


def test_version_is_the_installed_distributions() -> None:
    """pyproject.toml reads the version from seawall, so the metadata and the package agree."""
    assert seawall.__version__ == importlib.metadata.version("seawall")


def test_version_keeps_import_seawall_cheap() -> None:
    """``import seawall`` and its version load no middleware, settings or logging module."""
    code = (
        "import sys, seawall; seawall.__version__; "
        "print(sorted(m for m in sys.modules if m.startswith('seawall')))"
    )
    here = str(Path(seawall.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": here}
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert loaded.strip() == "['seawall', 'seawall._version']"
