"""What the README claims about ids, built-in mappings and the demo holds."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from examples.demo import APPS, which_503
from seawall.config.settings import Settings
from seawall.context.correlation import CorrelationPolicy
from seawall.errors.problems import ProblemRegistry
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
UUID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"


def replaced_examples() -> str:
    """The parenthesis after "Anything else" in the correlation id bullet."""
    found = re.search(r"Anything else \((.*?)\) is\s+replaced", README, re.S)
    assert found is not None
    return found.group(1)


def test_urn_uuid_ids_are_accepted_and_the_readme_says_so() -> None:
    """``urn:uuid:…`` fits the allowed characters: kept, and not listed as replaced."""
    policy = CorrelationPolicy(Settings.from_mapping({}).correlation)
    urn = f"urn:uuid:{UUID}"
    assert policy.resolve([(b"x-request-id", urn.encode())]) == (urn, None)
    assert "urn:uuid" not in replaced_examples()
    assert "`urn:uuid:…` ids are accepted" in README


@pytest.mark.parametrize(
    "value", ["\x85" + UUID.replace("-", ""), "{" + UUID + "}", "a b", "a\r\nb", "x" * 3000]
)
def test_the_readme_examples_of_replaced_ids_are_replaced(value: str) -> None:
    """Each kind the README lists as replaced is replaced."""
    policy = CorrelationPolicy(Settings.from_mapping({}).correlation)
    resolved, hint = policy.resolve([(b"x-request-id", value.encode("utf-8"))])
    assert resolved != value
    assert hint is not None


@pytest.mark.parametrize(
    ("exc", "status"),
    [(ConnectionError("x"), 503), (TimeoutError("x"), 504)],
)
def test_connection_and_timeout_errors_are_transient_without_retry_after(
    exc: BaseException, status: int
) -> None:
    """The documented default: a transient 5xx, no-store, no Retry-After."""
    problem = ProblemRegistry().to_problem(exc, correlation_id="c", instance="/")
    assert problem.status == status
    assert problem.classification == "transient"
    assert "Retry-After" not in problem.headers
    assert problem.headers["Cache-Control"] == "no-store"
    assert "`ConnectionError` a 503" in README
    assert "no\n  `Retry-After`" in README or "no `Retry-After`" in README


def test_every_demo_app_is_listed_in_the_readme() -> None:
    """``make demo APP=...``: each example app the demo knows is named, Flask included."""
    assert "flask" in APPS
    for name in APPS:
        assert f"APP={name}" in README


def problem_response(body: dict[str, Any], status: int = 503) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def test_the_demo_says_whose_503_it_is() -> None:
    """A mapped handler error and a breaker rejection read differently."""
    mapped = which_503(problem_response({"title": "Service Unavailable", "status": 503}))
    rejected = which_503(
        problem_response({"title": "Service Unavailable", "status": 503, "reason": "circuit_open"})
    )
    assert "handler's own error" in mapped
    assert "rejected by seawall (circuit_open)" in rejected
    assert "not called" in rejected
    assert which_503(httpx.Response(503, text="plain")) == ""
