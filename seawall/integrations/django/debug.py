"""Django's ``DEBUG`` error pages (and error e-mails) through seawall's redactor.

>>> DEBUG_MODULE = "seawall.integrations.django.debug"
>>> DEFAULT_EXCEPTION_REPORTER_FILTER = f"{DEBUG_MODULE}.SeawallExceptionReporterFilter"
>>> DEFAULT_EXCEPTION_REPORTER = f"{DEBUG_MODULE}.SeawallExceptionReporter"

Django's own filter hides settings whose *names* look secret and nothing else: a password in a
frame's locals, a token in a header, a DSN in ``DATABASES`` or in the exception message shows
in clear. The filter redacts frame locals, settings, ``request.META``, cookies and POST data
by key and by value, as seawall's logs are; the reporter adds what Django does not pass
through a filter: the query (``GET``), the URL, the exception text and notes, causes, source
lines and template error messages. A view's ``Http404`` gets Django's 404 page with its
reason and path redacted (:func:`technical_404`); Django passes that page through no reporter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import Http404, HttpResponseBase
from django.views.debug import (
    ExceptionReporter,
    SafeExceptionReporterFilter,
    technical_404_response,
)

from seawall.config.schema import SettingsError
from seawall.errors.safe_text import safe_str
from seawall.observability.redaction import Redactor

__all__ = ["SeawallExceptionReporter", "SeawallExceptionReporterFilter", "technical_404"]


def _redactor() -> Redactor:
    """The project's redactor (its ``redaction`` settings), or the default one when
    ``SEAWALL`` is broken: a debug page must still render, and stay redacted."""
    from seawall.integrations.django.conf import get_runtime

    try:
        return get_runtime().pipeline.redactor
    except SettingsError:
        return Redactor()


class Shown:
    """A redacted rendering that the debug page prints as it is (its ``repr`` and ``str``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def shown(redactor: Redactor, key: object, value: Any) -> Any:
    """``value`` redacted as the value of ``key``: strings, numbers, mappings and lists keep
    their type; any other object becomes its redacted ``repr``."""
    redacted = redactor.redact({key: value} if isinstance(key, str) and key else [value])
    out = redacted[key] if isinstance(redacted, dict) else redacted[0]
    if isinstance(value, str | int | float | bool | dict | list | tuple) or value is None:
        return out
    return Shown(out if isinstance(out, str) else repr(out))


class SeawallExceptionReporterFilter(SafeExceptionReporterFilter):  # type: ignore[misc]
    """Django's filter (``sensitive_variables``, ``sensitive_post_parameters``, secret setting
    names) plus seawall's redaction of every value it shows, by key and by value."""

    def __init__(self) -> None:
        super().__init__()
        self.redactor = _redactor()

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        """Settings, ``request.META`` and cookies: Django's rule, then seawall's."""
        cleansed = super().cleanse_setting(key, value)
        if cleansed == self.cleansed_substitute or isinstance(cleansed, dict | list | tuple):
            return cleansed  # already starred, or made of values cleansed one by one
        return shown(self.redactor, key, cleansed)

    def get_post_parameters(self, request: Any) -> Any:
        parameters = super().get_post_parameters(request)
        return {key: shown(self.redactor, key, value) for key, value in parameters.items()}

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Iterable[Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, shown(self.redactor, name, value)) for name, value in variables]


class SeawallExceptionReporter(ExceptionReporter):  # type: ignore[misc]
    """Django's reporter with the parts no filter sees redacted: query, URL, path, exception
    text, notes and causes, source lines, the user and template errors."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        redactor = _redactor()
        text = redactor.text
        if "request_GET_items" in data:
            data["request_GET_items"] = [
                (key, shown(redactor, key, value)) for key, value in data["request_GET_items"]
            ]
        for name in ("request_insecure_uri", "exception_value", "exception_notes", "user_str"):
            value = data.get(name)
            if value is not None:
                # Django 6.1 hands the exception itself as ``exception_value``, older ones its str.
                data[name] = text(value if isinstance(value, str) else safe_str(value))
        if data.get("request") is not None:
            data["request"] = _ShownRequest(data["request"], text)
        for frame in data.get("frames", ()):
            cause = frame.get("exc_cause")
            if cause is not None:
                frame["exc_cause"] = Shown(redactor.exception_text(cause))
            for name in ("context_line",):
                if isinstance(frame.get(name), str):
                    frame[name] = text(frame[name])
            for name in ("pre_context", "post_context"):
                if frame.get(name):
                    frame[name] = [text(line) for line in frame[name]]
        info = data.get("template_info")
        if isinstance(info, dict):
            data["template_info"] = {
                key: text(value) if isinstance(value, str) else value for key, value in info.items()
            }
        return data


class _ShownRequest:
    """What the debug templates read of ``request``, redacted."""

    def __init__(self, request: Any, text: Any) -> None:
        self.path_info = text(request.path_info)
        self.META = {"REQUEST_METHOD": request.META.get("REQUEST_METHOD", "")}
        self.GET = bool(request.GET)
        self.COOKIES = bool(request.COOKIES)
        self.FILES = bool(request.FILES)


class _Shown404(Http404):  # type: ignore[misc]  # Django ships no types
    """An ``Http404`` whose reason and path are already redacted, for Django's 404 page."""

    def __init__(self, reason: str, path: str) -> None:
        super().__init__({"path": path})
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def technical_404(request: Any, exception: Http404) -> HttpResponseBase:
    """Django's ``DEBUG`` 404 page for a view's ``Http404``, its reason (``Http404(f"no
    account for {token}")``) and the request's path redacted."""
    text = _redactor().text
    shown_request = _Shown404Request(request, text)
    reason = _Shown404(text(str(exception)), shown_request.path_info[1:])
    return technical_404_response(shown_request, reason)


class _Shown404Request:
    """What Django's 404 page reads of ``request`` (its title, path, method, absolute URL
    and the view that raised), redacted."""

    def __init__(self, request: Any, text: Callable[[str], str]) -> None:
        self.path_info = text(request.path_info)
        self.path = text(request.path)
        self.resolver_match = request.resolver_match
        self.META = {"REQUEST_METHOD": request.META.get("REQUEST_METHOD", "")}
        self._uri = text(request.build_absolute_uri())
        if hasattr(request, "urlconf"):
            self.urlconf = request.urlconf

    def build_absolute_uri(self) -> str:
        return self._uri
