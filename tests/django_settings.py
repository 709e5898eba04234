"""Django settings for seawall's Django tests, applied with ``settings.configure`` so no
``DJANGO_SETTINGS_MODULE`` leaks into other tests or into servers the tests start."""

from __future__ import annotations

from typing import Any

SEAWALL: dict[str, Any] = {
    "routes": {
        "GET flaky": {
            "breaker": {"failure_rate": 0.5, "minimum_calls": 4, "window": 30, "open_for": 5, "jitter": 0,
                        "half_open_calls": 1},
        },
        "GET slow/<int:n>/": {"timeout": 0.2, "timeout_mode": "thread", "max_concurrency": 4},
        "GET gate": {"max_concurrency": 1},
        "GET async/slow": {"timeout": 0.2},
    },
}  # fmt: skip

urlpatterns: list[Any] = []  # the default URLconf: nothing

SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "seawall-tests-only",
    "ALLOWED_HOSTS": ["testserver", "localhost", "127.0.0.1"],
    "ROOT_URLCONF": "tests.django_settings",  # each test module overrides it with its own
    "APPEND_SLASH": False,
    "USE_TZ": True,
    "DATABASES": {},
    "LOGGING_CONFIG": None,
    "INSTALLED_APPS": ["seawall.integrations.django", "rest_framework"],
    "MIDDLEWARE": ["seawall.integrations.django.SeawallMiddleware"],
    "REST_FRAMEWORK": {
        "EXCEPTION_HANDLER": "seawall.integrations.django.drf.exception_handler",
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
    },
    "SEAWALL": SEAWALL,
}


def setup() -> None:
    """Configure and set up Django once per test process."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(**SETTINGS)
        django.setup()
