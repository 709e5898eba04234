"""pyproject.toml's extras: one per framework the adapters support, DRF included, and none
without code behind it."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT

IMPORTED_AS = {"djangorestframework": "rest_framework", "prometheus-client": "prometheus_client"}


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


def test_every_extra_installs_only_what_seawall_imports() -> None:
    """An extra exists only when seawall's code uses it (an ``httpx`` extra with nothing
    behind it promised a feature that was not there)."""
    sources = "\n".join(p.read_text() for p in (ROOT / "seawall").rglob("*.py"))
    for extra, requirements in extras().items():
        if extra in ("dev", "bench"):  # tools for working on seawall, not features
            continue
        for name in names(requirements):
            module = IMPORTED_AS.get(name, name)
            used = re.search(rf"^\s*(?:import|from) {module}\b", sources, re.M)
            assert used, f"extra {extra!r}: nothing in seawall imports {module}"
