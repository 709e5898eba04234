"""The ``seawall.integrations.django`` app: validates ``SEAWALL`` at start-up and keeps Django's
own failure logging from duplicating (or leaking) what seawall logs.

Django logs a failure it turned into a response on ``django.request`` with the raw exception
attached. For requests seawall handles, a filter takes the exception from that record for
seawall's one sanitized event and drops the record; the ``got_request_exception`` signal does
the same for 500s when that logger is silenced.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.apps import AppConfig
from django.core.signals import got_request_exception

from seawall.config.schema import SettingsError

__all__ = ["DjangoRequestFilter", "SeawallConfig"]


class DjangoRequestFilter(logging.Filter):
    """Drops ``django.request`` records of requests seawall answers, keeping their exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        from seawall.integrations.django.state import STATE

        state = getattr(getattr(record, "request", None), STATE, None)
        if state is None or not state.active:
            return True  # not ours, or Django's summary of the app's own error response
        exc_info = record.exc_info
        if exc_info and exc_info[1] is not None and state.django_exc is None:
            state.django_exc = exc_info[1]
        state.django_logged = True
        return False


def _request_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """Keep the exception of a request Django is answering with a 500 itself."""
    from seawall.integrations.django.state import STATE

    state = getattr(request, STATE, None)
    if state is not None and state.active and state.django_exc is None:
        state.django_exc = sys.exc_info()[1]


class SeawallConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints
    name = "seawall.integrations.django"
    label = "seawall"
    verbose_name = "Seawall"

    def ready(self) -> None:
        from seawall.integrations.django import checks  # registers the checks on import
        from seawall.integrations.django.access_log import install_access_log_filter
        from seawall.integrations.django.conf import get_runtime

        try:
            get_runtime()
        except SettingsError as exc:
            # No traceback out of ready(): it would hide seawall.E001 from manage.py check.
            # runserver stops here with the E001 line (its reloader would print the check's
            # traceback); WSGI/ASGI servers stop when the handler builds the middleware.
            if sys.argv[1:2] == ["runserver"]:
                checks.refuse_to_start(exc)
        install_access_log_filter()
        request_logger = logging.getLogger("django.request")
        if not any(isinstance(f, DjangoRequestFilter) for f in request_logger.filters):
            request_logger.addFilter(DjangoRequestFilter())
        got_request_exception.connect(
            _request_exception, dispatch_uid="seawall.integrations.django.apps"
        )
