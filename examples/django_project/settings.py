"""Settings of the example project: seawall's app and middleware, DRF, no database.

Per-route policies are keyed by Django's own route syntax (``"GET flaky"``,
``"GET api/items/<int:pk>"``), as ``resolver_match.route`` prints them.
"""

from __future__ import annotations

from typing import Any

import seawall.logging
from examples import shared

DEBUG = False
SECRET_KEY = "seawall-example-only-not-a-secret"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
ROOT_URLCONF = "examples.django_project.urls"
APPEND_SLASH = False
USE_TZ = True
DATABASES: dict[str, object] = {}

INSTALLED_APPS = [
    "seawall.integrations.django",
    "rest_framework",
]
MIDDLEWARE = [
    "seawall.integrations.django.SeawallMiddleware",
    "django.middleware.common.CommonMiddleware",
]

# Seawall's CSRF failure view (problems for API clients) and redacted DEBUG pages.
CSRF_FAILURE_VIEW = "seawall.integrations.django.views.csrf_failure"
DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "seawall.integrations.django.debug.SeawallExceptionReporterFilter"
)
DEFAULT_EXCEPTION_REPORTER = "seawall.integrations.django.debug.SeawallExceptionReporter"

REST_FRAMEWORK: dict[str, Any] = {
    "EXCEPTION_HANDLER": "seawall.integrations.django.drf.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

SEAWALL = shared.settings(
    prefix="", slow={"timeout": 0.5, "timeout_mode": "thread", "max_concurrency": 4}
)
SEAWALL["routes"]["GET api/items/<int:pk>"] = {"max_concurrency": 16}

# Seawall writes every log line (Django's too) as redacted JSON with the correlation id.
LOGGING_CONFIG = None
seawall.logging.configure(format="json")
