"""CSRF failures: ``CSRF_FAILURE_VIEW = "seawall.integrations.django.views.csrf_failure"``
answers API clients with a 403 problem and browsers with Django's page; ``seawall.W005`` says
when the view is not set.

This module is also the URLconf of its tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests import django_settings

django_settings.setup()

from django.core.checks import run_checks  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from seawall.integrations.django.conf import install_pipeline  # noqa: E402

VIEW = "seawall.integrations.django.views.csrf_failure"
MIDDLEWARE = [
    "seawall.integrations.django.SeawallMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]


def orders(request: HttpRequest) -> HttpResponse:
    return HttpResponse("created", status=201)


urlpatterns = [path("orders", orders)]


@pytest.fixture
def client() -> Iterator[Client]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE, CSRF_FAILURE_VIEW=VIEW):
        yield Client(enforce_csrf_checks=True, raise_request_exception=False)
    install_pipeline(None)


@pytest.mark.parametrize(
    "headers",
    [
        {"content_type": "application/json"},  # a JSON body
        {"content_type": "application/merge-patch+json"},
        {"content_type": "application/json", "HTTP_ACCEPT": "text/html,*/*;q=0.8"},  # fetch()
        {"HTTP_ACCEPT": "application/json"},  # asks for JSON
        {"HTTP_ACCEPT": "*/*"},  # curl, scripts: not a browser
        {},  # no Accept at all
    ],
)
def test_api_clients_get_a_403_problem(client: Client, headers: dict[str, str]) -> None:
    """A POST without a CSRF token from an API client: problem+json with the id and reason."""
    data = "{}" if "content_type" in headers else None
    kwargs = {"data": data, **headers} if data is not None else headers
    response = client.post("/orders", HTTP_X_REQUEST_ID="csrf-1", **kwargs)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == 403
    assert body["type"] == "https://seawall.dev/problems/csrf_failed"
    assert body["title"] == "CSRF verification failed"
    assert body["detail"] == "CSRF verification failed. CSRF cookie not set."
    assert body["correlation_id"] == "csrf-1" == response["X-Request-ID"]


def test_browsers_keep_djangos_page(client: Client) -> None:
    """A browser form post gets Django's HTML CSRF page, with the id header."""
    response = client.post(
        "/orders",
        {"name": "x"},
        HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"CSRF verification failed" in response.content
    assert response["X-Request-ID"]


def test_a_valid_token_passes(client: Client) -> None:
    """With the cookie and the token, the view runs."""
    client.cookies["csrftoken"] = "a" * 32
    response = client.post("/orders", HTTP_X_CSRFTOKEN="a" * 32)
    assert response.status_code == 201


def test_w005_when_the_csrf_failure_view_is_not_set() -> None:
    """``seawall.W005`` names CSRF_FAILURE_VIEW when CSRF protection uses Django's page."""
    with override_settings(MIDDLEWARE=MIDDLEWARE):
        (warning,) = [m for m in run_checks() if m.id == "seawall.W005"]
    assert VIEW in (warning.hint or "")
    with override_settings(MIDDLEWARE=MIDDLEWARE, CSRF_FAILURE_VIEW=VIEW):
        assert [m for m in run_checks() if m.id == "seawall.W005"] == []
    assert [m for m in run_checks() if m.id == "seawall.W005"] == []  # no CSRF middleware
