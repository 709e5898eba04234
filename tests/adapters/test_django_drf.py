"""DRF's EXCEPTION_HANDLER and seawall's handler views, in production mode.

This module is the URLconf of its tests, with ``handler400``..``handler500`` set to seawall's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests import django_settings

django_settings.setup()

from django.core.checks import run_checks  # noqa: E402
from django.core.exceptions import PermissionDenied  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework import serializers  # noqa: E402
from rest_framework.exceptions import NotAuthenticated, NotFound, Throttled  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from seawall.testing import CapturedLogs  # noqa: E402
from tests.fake_secrets import PASSWORD  # noqa: E402


class ItemSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=10)
    quantity = serializers.IntegerField(min_value=1)


class Items(APIView):
    def post(self, request: Request) -> Response:
        serializer = ItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class Item(APIView):
    def get(self, request: Request, pk: int) -> Response:
        raise NotFound(f"There is no item {pk}.")


class Private(APIView):
    def get(self, request: Request) -> Response:
        raise NotAuthenticated()


class Busy(APIView):
    def get(self, request: Request) -> Response:
        raise Throttled(wait=7)


class Broken(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError(f"db password={PASSWORD}")


def denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("no")


urlpatterns = [
    path("api/items", Items.as_view()),
    path("api/items/<int:pk>", Item.as_view()),
    path("api/private", Private.as_view()),
    path("api/busy", Busy.as_view()),
    path("api/broken", Broken.as_view()),
    path("denied", denied),
]
handler400 = "seawall.integrations.django.views.bad_request"
handler403 = "seawall.integrations.django.views.permission_denied"
handler404 = "seawall.integrations.django.views.page_not_found"
handler500 = "seawall.integrations.django.views.server_error"


@pytest.fixture(autouse=True)
def urlconf() -> Iterator[None]:
    install_pipeline(None)
    with override_settings(ROOT_URLCONF=__name__):
        yield


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    return body


def test_validation_error_lists_field_errors(client: Client) -> None:
    """A serializer's ValidationError: a 400 problem whose ``errors`` name each field."""
    response = client.post(
        "/api/items", {"name": "x" * 20, "quantity": 0}, content_type="application/json"
    )
    body = problem(response)
    assert response.status_code == body["status"] == 400
    assert body["correlation_id"] == response["X-Request-ID"]
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"name", "quantity"}
    assert fields["quantity"]["type"] == "min_value"


def test_valid_request_is_untouched(client: Client) -> None:
    """Valid input reaches the view and gets its normal DRF response."""
    response = client.post(
        "/api/items", {"name": "anchor", "quantity": 2}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json() == {"name": "anchor", "quantity": 2}


def test_not_found_keeps_its_safe_detail(client: Client) -> None:
    """An APIException's own detail (4xx) is the problem's detail."""
    body = problem(client.get("/api/items/5"))
    assert body["status"] == 404
    assert body["detail"] == "There is no item 5."


def test_throttled_carries_retry_after(client: Client) -> None:
    """Throttled: 429 with DRF's Retry-After."""
    response = client.get("/api/busy")
    assert response.status_code == 429
    assert response["Retry-After"] == "7"


def test_not_authenticated_is_a_problem(client: Client) -> None:
    """NotAuthenticated without an authenticator header becomes a 403 problem, as in DRF."""
    response = client.get("/api/private")
    assert problem(response)["status"] in (401, 403)


def test_unhandled_api_error_is_one_sanitized_500(client: Client, logs: CapturedLogs) -> None:
    """A non-API exception in a DRF view reaches the middleware: one 500 problem, one event."""
    response = client.get("/api/broken")
    body = problem(response)
    assert response.status_code == 500
    errors = [
        e for e in logs.events if e.get("level") == "error" or "django" in str(e.get("logger"))
    ]
    (event,) = errors
    assert event["error_id"] == body["error_id"]
    assert PASSWORD not in logs.text


def test_handler404_view_answers_problems(client: Client) -> None:
    """With seawall's handler404 an unknown URL is a problem, JSON by default."""
    response = client.get("/nowhere")
    body = problem(response)
    assert body["status"] == 404
    assert body["correlation_id"] == response["X-Request-ID"]


def test_handler_views_render_html_for_browsers(client: Client) -> None:
    """Browsers get seawall's small HTML page with the ids."""
    response = client.get("/nowhere", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Request-ID"] in response.content.decode()


def test_drf_exception_handler_is_checked() -> None:
    """seawall.W003 when DRF is installed without seawall's exception handler."""
    with override_settings(REST_FRAMEWORK={}):
        assert "seawall.W003" in {m.id for m in run_checks()}
