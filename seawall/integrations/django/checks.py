"""System checks: ``manage.py check`` reports seawall mistakes with stable ids.

``seawall.E001``  ``settings.SEAWALL`` is invalid (the message names the key).
``seawall.W001``  ``SeawallMiddleware`` is not first in ``MIDDLEWARE``.
``seawall.W002``  the app is installed but ``SeawallMiddleware`` is not in ``MIDDLEWARE``.
``seawall.W003``  DRF is installed but its ``EXCEPTION_HANDLER`` is not seawall's.
``seawall.W004``  a ``SEAWALL["routes"]`` key matches no URL pattern (names the closest one).
``seawall.W005``  ``CsrfViewMiddleware`` is on but ``CSRF_FAILURE_VIEW`` is Django's HTML page.
``seawall.W006``  ``DEBUG`` pages are not redacted (the exception reporter filter or the reporter
                  is Django's own).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from seawall.config.settings import SettingsError

__all__ = [
    "check_csrf_view",
    "check_debug_pages",
    "check_drf",
    "check_middleware",
    "check_route_keys",
    "check_settings",
    "refuse_to_start",
    "settings_error",
]

MIDDLEWARE_PATH = "seawall.integrations.django.SeawallMiddleware"
_MIDDLEWARE_PATHS = frozenset(
    {MIDDLEWARE_PATH, "seawall.integrations.django.middleware.SeawallMiddleware"}
)
DRF_HANDLER = "seawall.integrations.django.drf.exception_handler"
CSRF_VIEW = "seawall.integrations.django.views.csrf_failure"
_CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
REPORTER_FILTER = "seawall.integrations.django.debug.SeawallExceptionReporterFilter"
REPORTER = "seawall.integrations.django.debug.SeawallExceptionReporter"
APP_LOAD_ERROR = 4
"""The exit status of a server refused for bad settings (gunicorn's "App failed to load")."""


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seawall.E001``: ``SEAWALL`` must parse; the message names the bad key."""
    from seawall.integrations.django.conf import load_settings

    try:
        load_settings()
    except SettingsError as exc:
        return [settings_error(exc)]
    return []


def settings_error(exc: SettingsError) -> Error:
    """``seawall.E001`` for a bad ``SEAWALL``, naming the key."""
    return Error(
        str(exc),
        hint=f"Fix SEAWALL key {exc.path!r}; see seawall's settings reference.",
        obj="settings.SEAWALL",
        id="seawall.E001",
    )


def refuse_to_start(exc: SettingsError) -> NoReturn:
    """Stop a server that would run with a bad ``SEAWALL``: the ``seawall.E001`` line on
    stderr, no traceback, and exit status 4, which gunicorn takes for "App failed to load"
    (it stops instead of booting new workers that would fail the same way)."""
    error = settings_error(exc)
    print(f"{error.obj}: ({error.id}) {error.msg}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR)


def check_route_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seawall.W004``: every route key should match a URL pattern, or it does nothing."""
    from seawall.integrations.django.conf import load_settings
    from seawall.integrations.django.urls import url_patterns
    from seawall.integrations.route_keys import unmatched_keys

    try:
        keys = [key for key, _ in load_settings().routes]
    except SettingsError:
        return []  # seawall.E001 says why
    if not keys:
        return []
    return [
        Warning(
            unmatched.message,
            hint="Route keys use the URL pattern as Django prints it, e.g. 'GET items/<int:pk>/'.",
            obj="settings.SEAWALL",
            id="seawall.W004",
        )
        for unmatched in unmatched_keys(keys, [(route, None) for route, _ in url_patterns()])
    ]


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seawall.W001``/``W002``: the middleware must run first to see every response."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    positions = [i for i, path in enumerate(middleware) if path in _MIDDLEWARE_PATHS]
    if not positions:
        return [
            Warning(
                f"{MIDDLEWARE_PATH} is not in MIDDLEWARE.",
                hint="Add it as the first entry of MIDDLEWARE.",
                obj="settings.MIDDLEWARE",
                id="seawall.W002",
            )
        ]
    if positions[0] != 0:
        return [
            Warning(
                f"{MIDDLEWARE_PATH} is not first in MIDDLEWARE.",
                hint=(
                    "Move it to the top: middleware above it answer without a correlation id "
                    "and their failures are not turned into problem responses."
                ),
                obj="settings.MIDDLEWARE",
                id="seawall.W001",
            )
        ]
    return []


def check_drf(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seawall.W003``: with DRF, API errors should be problems too."""
    if not apps.is_installed("rest_framework"):
        return []
    handler = (getattr(settings, "REST_FRAMEWORK", None) or {}).get("EXCEPTION_HANDLER")
    if handler in (DRF_HANDLER, _drf_handler()):
        return []
    return [
        Warning(
            "REST framework errors are not rendered as problem responses.",
            hint=f'Set REST_FRAMEWORK["EXCEPTION_HANDLER"] = "{DRF_HANDLER}".',
            obj="settings.REST_FRAMEWORK",
            id="seawall.W003",
        )
    ]


def check_csrf_view(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seawall.W005``: with CSRF protection on, API clients should get a problem, not HTML."""
    if _CSRF_MIDDLEWARE not in (getattr(settings, "MIDDLEWARE", None) or []):
        return []
    if getattr(settings, "CSRF_FAILURE_VIEW", "") != "django.views.csrf.csrf_failure":
        return []  # seawall's view, or one of the project's own
    return [
        Warning(
            "CSRF failures answer API clients with Django's HTML page.",
            hint=f'Set CSRF_FAILURE_VIEW = "{CSRF_VIEW}" (browsers keep the HTML page).',
            obj="settings.CSRF_FAILURE_VIEW",
            id="seawall.W005",
        )
    ]


def check_debug_pages(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seawall.W006``: under ``DEBUG`` the technical 500 page shows frame locals, settings and
    request data; seawall's filter and reporter redact them."""
    if not settings.DEBUG:
        return []
    wanted = {
        "DEFAULT_EXCEPTION_REPORTER_FILTER": REPORTER_FILTER,
        "DEFAULT_EXCEPTION_REPORTER": REPORTER,
    }
    missing = [
        f'{name} = "{path}"'
        for name, path in wanted.items()
        if getattr(settings, name, None) != path
    ]
    if not missing:
        return []
    return [
        Warning(
            "DEBUG error pages show secrets from frame locals, settings and the request.",
            hint="Set " + " and ".join(missing) + ".",
            obj="settings.DEBUG",
            id="seawall.W006",
        )
    ]


for _check in (
    check_settings, check_middleware, check_drf, check_route_keys, check_csrf_view,
    check_debug_pages,
):  # fmt: skip
    register(_check)


def _drf_handler() -> Any:
    from seawall.integrations.django.drf import exception_handler

    return exception_handler
