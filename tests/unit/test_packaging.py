"""pyproject.toml's extras: one per framework the adapters support, DRF included."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def extras() -> dict[str, list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        found: dict[str, list[str]] = tomllib.load(file)["project"]["optional-dependencies"]
    return found


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_drf_extra_installs_django_rest_framework_and_django() -> None:
    """``pip install "seawall[drf]"`` brings what seawall.integrations.django.drf imports."""
    assert {"djangorestframework", "django"} <= names(extras()["drf"])


def test_every_framework_adapter_has_its_extra() -> None:
    """Each adapter's framework is one extra away."""
    assert {"starlette", "fastapi", "flask", "django", "drf"} <= set(extras())


def test_the_drf_extra_claims_the_version_ci_tests_as_lowest() -> None:
    """The claimed minimum is the one ``make test-lowest`` pins."""
    lowest = (ROOT / ".ci" / "constraints-lowest.txt").read_text()
    pinned = re.search(r"^djangorestframework==(\S+)$", lowest, re.M)
    assert pinned is not None
    assert f"djangorestframework>={pinned.group(1).removesuffix('.0')}" in extras()["drf"]
