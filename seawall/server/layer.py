"""What the ASGI and WSGI middleware share: the wrapped app and the pipeline they run it in."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from seawall.config.settings import Settings
from seawall.server.pipeline import Pipeline

__all__ = ["Layer"]

A = TypeVar("A")


class Layer(Generic[A]):
    """Holds ``app`` and a pipeline (given, or built from ``settings``). ``policies=False``
    leaves route policies to an adapter inside the app."""

    def __init__(
        self,
        app: A,
        settings: Settings | Any = None,
        *,
        pipeline: Pipeline | None = None,
        policies: bool = True,
    ) -> None:
        self.app = app
        self.pipeline = pipeline = pipeline or Pipeline(settings)
        self.policies = policies and not pipeline.guards.empty
        # Held directly so the per-request calls go straight to them.
        self._guards = pipeline.guards
        self._correlation = pipeline.correlation
