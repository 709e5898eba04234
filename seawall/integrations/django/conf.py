"""``settings.SEAWALL``: parsed once into a :class:`~seawall.server.pipeline.Pipeline`, re-read
on change.

Django's ``setting_changed`` signal (sent by ``override_settings``) drops the cached pipeline,
so tests that override ``SEAWALL`` or ``DEBUG`` get a pipeline built from the new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed

from seawall.config.settings import Settings, SettingsError
from seawall.config.sources import PREFIX, framework_settings
from seawall.server.pipeline import Pipeline

__all__ = ["Runtime", "get_runtime", "install_pipeline", "load_settings"]

WATCHED = frozenset({"SEAWALL", "DEBUG"})


def load_settings() -> Settings:
    """Validate ``settings.SEAWALL``; ``errors.debug`` follows ``DEBUG`` unless set there."""
    raw: Any = getattr(django_settings, "SEAWALL", None)
    if raw is not None and not isinstance(raw, Mapping):
        raise SettingsError("SEAWALL", f"expected a dict, got {type(raw).__name__}")
    _refuse_unread(dir(django_settings))
    return framework_settings(raw, debug=bool(django_settings.DEBUG))


def _refuse_unread(names: list[str]) -> None:
    """A Django setting that looks like a seawall one (``SEAWALL_ROUTES``,
    ``SEAWALL_CORRELATION__HEADER``) would be ignored: Django reads ``SEAWALL`` only."""
    sections = {f.name for f in fields(Settings)}
    for name in names:
        if not name.startswith(PREFIX):
            continue
        section = name[len(PREFIX) :].split("__")[0].lower()
        if section in sections:
            raise SettingsError(
                name,
                f"is not read: Django takes seawall's settings from SEAWALL only, so write"
                f" SEAWALL = {{{section!r}: ...}}",
            )


class Runtime:
    """One pipeline and what the middleware derives from it once, not per request."""

    __slots__ = ("header", "isolating", "pipeline")

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.header = pipeline.correlation.response_header
        settings = pipeline.settings
        policies = [settings.defaults, *(policy for _, policy in settings.routes)]
        # Thread isolation must start before Django calls the view: only then resolve early.
        self.isolating = any(p.timeout is not None and p.timeout_mode == "thread" for p in policies)


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The current runtime, built from the settings on first use."""
    global _runtime
    runtime = _runtime
    if runtime is None:
        runtime = _runtime = Runtime(Pipeline(load_settings()))
    return runtime


def install_pipeline(pipeline: Pipeline | None) -> None:
    """Use ``pipeline`` (say, one built with a fake clock in tests) until the settings change;
    ``None`` goes back to building one from ``settings.SEAWALL``. The pipeline replaced is
    closed (its alert outbox, shared-state threads, samplers and pools stop)."""
    global _runtime
    old, _runtime = _runtime, None if pipeline is None else Runtime(pipeline)
    if old is not None and old.pipeline is not pipeline:
        old.pipeline.close()


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in WATCHED or setting.startswith(PREFIX):
        install_pipeline(None)


setting_changed.connect(_setting_changed, dispatch_uid="seawall.integrations.django.conf")
