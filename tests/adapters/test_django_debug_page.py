"""``DEBUG=True``: Django's technical 500 page, rendered for real, shows no secret once
``DEFAULT_EXCEPTION_REPORTER_FILTER`` (and ``DEFAULT_EXCEPTION_REPORTER``) are seawall's.

This module is also the URLconf of its tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests import django_settings

django_settings.setup()

from django.core.checks import run_checks  # noqa: E402
from django.http import Http404, HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from seawall.integrations.django.conf import install_pipeline  # noqa: E402
from tests.fake_secrets import API_KEY, API_KEY_BODY, DSN, PASSWORD  # noqa: E402

FILTER = "seawall.integrations.django.debug.SeawallExceptionReporterFilter"
REPORTER = "seawall.integrations.django.debug.SeawallExceptionReporter"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SECRETS = (PASSWORD, API_KEY_BODY, DSN.split(":")[2].split("@")[0])  # the DSN's password


def checkout(request: HttpRequest) -> HttpResponse:
    password = PASSWORD  # a frame local whose name says it is secret
    upstream = DSN  # one whose value says so
    charge = {"api_key": API_KEY, "amount": 12}
    raise ConnectionError(f"cannot reach {upstream} (password={password}, {charge})")


def account(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404(f"no account behind {DSN} for password={PASSWORD}")


urlpatterns = [path("checkout", checkout), path("account/<str:token>", account)]


@pytest.fixture
def client() -> Iterator[Client]:
    install_pipeline(None)
    with override_settings(
        ROOT_URLCONF=__name__,
        DEBUG=True,
        SHOP_UPSTREAM=DSN,  # a setting whose name Django does not think secret
        DEFAULT_EXCEPTION_REPORTER_FILTER=FILTER,
        DEFAULT_EXCEPTION_REPORTER=REPORTER,
    ):
        yield Client(raise_request_exception=False)
    install_pipeline(None)


def technical_500(client: Client) -> str:
    client.cookies["remember_token"] = PASSWORD
    client.cookies["upstream"] = DSN
    response = client.post(
        f"/checkout?password={PASSWORD}&next={DSN}",
        {"card_password": PASSWORD, "note": f"call {DSN}"},
        HTTP_ACCEPT=BROWSER,
        HTTP_X_CALLBACK=DSN,
    )
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    page: str = response.content.decode()
    assert "ConnectionError" in page  # it is Django's technical page
    assert "Local vars" in page
    return page


def test_the_technical_500_page_shows_no_secret(client: Client) -> None:
    """Frame locals, settings, GET, POST, META, cookies, the URL and the exception text are
    redacted; the page keeps its shape (variable names, exception class, settings names)."""
    page = technical_500(client)
    for secret in SECRETS:
        assert secret not in page
    assert "SHOP_UPSTREAM" in page
    assert "[REDACTED" in page
    assert "amount" in page


def test_the_filter_alone_redacts_locals_settings_meta_cookies_and_post(client: Client) -> None:
    """With only the filter set, what passes through it is redacted; what Django never
    passes through a filter (query, URL, exception text) is the reporter's job."""
    with override_settings(DEFAULT_EXCEPTION_REPORTER="django.views.debug.ExceptionReporter"):
        page = technical_500(client)
    frame_vars = re.findall(r'<table class="vars".*?</table>', page, flags=re.S)
    assert frame_vars
    end = page.find("</main>")  # Django 4.2's page has no <main>
    filtered = page[page.index('<h3 id="post-info">') : end if end >= 0 else len(page)]
    for secret in SECRETS:
        assert all(secret not in table for table in frame_vars)
        assert secret not in filtered  # POST, FILES, COOKIES, META, settings


def test_w006_when_debug_pages_are_not_redacted() -> None:
    """``seawall.W006`` under DEBUG when the filter or the reporter is Django's own."""
    with override_settings(DEBUG=True):
        ids = [m.id for m in run_checks()]
    assert "seawall.W006" in ids
    with override_settings(DEBUG=True, DEFAULT_EXCEPTION_REPORTER_FILTER=FILTER):
        (warning,) = [m for m in run_checks() if m.id == "seawall.W006"]
    assert REPORTER in (warning.hint or "")
    with override_settings(
        DEBUG=True, DEFAULT_EXCEPTION_REPORTER_FILTER=FILTER, DEFAULT_EXCEPTION_REPORTER=REPORTER
    ):
        assert "seawall.W006" not in [m.id for m in run_checks()]
    assert "seawall.W006" not in [m.id for m in run_checks()]  # DEBUG off


def test_the_technical_404_page_of_a_views_http404_shows_no_secret(client: Client) -> None:
    """A view's ``Http404`` under ``DEBUG``: Django's 404 page (no reporter runs there) with its
    reason and the path redacted; still the page a developer knows."""
    response = client.get(f"/account/{API_KEY}", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "account/&lt;str:token&gt;" in page  # the URL patterns tried are still listed
    assert "no account behind" in page
    for secret in SECRETS:
        assert secret not in page
