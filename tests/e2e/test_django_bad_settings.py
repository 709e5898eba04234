"""A bad ``SEAWALL`` on real commands and servers: ``manage.py check`` reports ``seawall.E001``
naming the key; runserver, gunicorn and uvicorn refuse to start with that one line and no
traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from examples.servers import ROOT, free_port, gunicorn_argv, uvicorn_argv

pytestmark = pytest.mark.e2e

LINE = (
    'settings.SEAWALL: (seawall.E001) seawall setting routes."GET hello".timout: unknown key '
    "'timout'; did you mean 'timeout'?"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project's settings with a misspelt route key, and entry points using them."""
    where = tmp_path_factory.mktemp("bad_settings")
    (where / "bad_settings.py").write_text(
        "from examples.django_project.settings import *  # noqa: F403\n"
        'SEAWALL = {"routes": {"GET hello": {"timout": 2}}}\n'
    )
    for kind in ("wsgi", "asgi"):
        (where / f"bad_{kind}.py").write_text(
            "import os\n"
            'os.environ["DJANGO_SETTINGS_MODULE"] = "bad_settings"\n'
            f"from django.core.{kind} import get_{kind}_application\n"
            f"application = get_{kind}_application()\n"
        )
    return where


def run(argv: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{project}",
        "DJANGO_SETTINGS_MODULE": "bad_settings",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.run(
        argv, cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_manage_py_check_reports_e001_naming_the_key(project: Path) -> None:
    """``check`` lists seawall.E001 with the key and its hint, exit status 1, no traceback."""
    done = run([sys.executable, "-m", "django", "check"], project)
    assert done.returncode == 1
    assert LINE in done.stderr
    assert "HINT: Fix SEAWALL key 'routes.\"GET hello\".timout'" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "server",
    ["runserver", "runserver --noreload", "gunicorn", "uvicorn"],
)
def test_servers_refuse_to_start_with_the_e001_line(project: Path, server: str) -> None:
    """Each server exits at once (status 4; gunicorn: "App failed to load") with the E001
    line and no traceback: nothing ever listens."""
    port = free_port()
    argv = {
        "runserver": [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}"],
        "runserver --noreload": [
            sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload",
        ],
        "gunicorn": gunicorn_argv("bad_wsgi:application", port),
        "uvicorn": uvicorn_argv("bad_asgi:application", port),
    }[server]  # fmt: skip
    done = run(argv, project)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert LINE in output
    assert "Traceback" not in output
    if server == "gunicorn":
        assert "App failed to load" in output
