"""Shared test set-up. ``async def`` tests run on asyncio (pytest-asyncio, ``asyncio_mode=auto``).

``make test`` runs the suite twice: on the pure-Python source, then with
``SEAWALL_EXPECT_COMPILED=1`` on the mypyc-compiled build. Either run stops before any test if
the hot-path modules come from the other build (say, compiled modules left in the source tree).
The end-to-end tests (marker ``e2e``) run in the pure pass only: the servers they start
import the source whichever build the test process uses.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from seawall.testing import CapturedLogs, capture_logs

ROOT = Path(__file__).resolve().parent.parent


def compiled_modules() -> list[str]:
    """The modules the compiled wheel compiles, as the build hook in pyproject.toml lists them."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        hook = tomllib.load(file)["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["mypyc"]
    return [path.strip("/").removesuffix(".py").replace("/", ".") for path in hook["include"]]


def pytest_sessionstart(session: pytest.Session) -> None:
    expect_compiled = os.environ.get("SEAWALL_EXPECT_COMPILED") == "1"
    wrong = [
        f"{name} ({module.__file__})"
        for name in compiled_modules()
        if str((module := importlib.import_module(name)).__file__).endswith(".so")
        != expect_compiled
    ]
    if wrong:
        build = "compiled" if expect_compiled else "pure-Python"
        raise pytest.UsageError(f"expected the {build} build of {wrong}")


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """The test's log lines, structlog and stdlib, as seawall's redacting JSON chain writes them."""
    with capture_logs() as captured:
        yield captured


@pytest.fixture(autouse=True)
def _keep_default_dependencies() -> Iterator[None]:
    """``seawall.dependency(name)`` resolves against a process-wide default that each install
    replaces: every test starts and ends with the one that was there before."""
    from seawall.client import dependencies

    saved = dependencies.active()
    yield
    dependencies._activate(saved)


@pytest.fixture
def events() -> Iterator[list[object]]:
    """Every dependency event published in the test, in order."""
    from seawall.observability import events as bus

    kinds = (
        bus.DependencyCalled, bus.DependencyRequest, bus.DependencyRetry, bus.DependencyFailed,
        bus.DependencyBreakerChanged, bus.RecoveryRan, bus.RecoveryExhausted,
    )  # fmt: skip
    seen: list[object] = []
    unsubscribe = [bus.subscribe(kind, seen.append) for kind in kinds]
    yield seen
    for stop in unsubscribe:
        stop()
