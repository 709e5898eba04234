"""What the ASGI and WSGI middleware share when they are made: the pipeline they run in."""

from __future__ import annotations

from typing import Any

from seawall.config.settings import Settings
from seawall.server.pipeline import Pipeline

__all__ = ["bind"]


def bind(
    settings: Settings | Any, pipeline: Pipeline | None, policies: bool
) -> tuple[Pipeline, bool]:
    """The middleware's pipeline (the one given, or one built from ``settings``) and whether
    the middleware runs route policies itself (``policies=False``: an adapter inside does)."""
    if pipeline is None:
        pipeline = Pipeline(settings)
    return pipeline, policies and not pipeline.guards.empty
