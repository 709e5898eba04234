"""Error analytics of an app: its failures grouped by fingerprint, most frequent first.

The public path; the implementation lives in :mod:`seawall.observability.analytics`.

>>> from seawall import analytics
>>> for group in analytics.for_app(app).top(10):
...     print(group.as_dict()["count"], group.fingerprint, group.route)
"""

from __future__ import annotations

from typing import Any

from seawall.observability.analytics import ErrorAnalytics, ErrorGroup, ErrorRecorded, group_id
from seawall.server.pipeline import Pipeline

__all__ = ["ErrorAnalytics", "ErrorGroup", "ErrorRecorded", "for_app", "group_id", "pipeline_of"]


def pipeline_of(app: Any) -> Pipeline:
    """The seawall pipeline behind ``app``: a ``Pipeline``, seawall's ASGI/WSGI middleware, a
    Flask app with :class:`~seawall.integrations.flask.Seawall`, a Starlette/FastAPI app after
    ``install``, or Django's ``settings`` module name ``"django"`` (the running project)."""
    if isinstance(app, Pipeline):
        return app
    found = getattr(app, "pipeline", None)
    if isinstance(found, Pipeline):
        return found
    extensions = getattr(app, "extensions", None)
    found = extensions.get("seawall") if isinstance(extensions, dict) else None
    if isinstance(found, Pipeline):
        return found
    state = getattr(app, "state", None)
    found = getattr(state, "_seawall_pipeline", None) if state is not None else None
    if isinstance(found, Pipeline):
        return found
    if app == "django":
        from seawall.integrations.django.conf import get_runtime

        return get_runtime().pipeline
    raise LookupError(f"seawall is not installed on {type(app).__name__} {app!r}")


def for_app(app: Any) -> ErrorAnalytics:
    """The :class:`ErrorAnalytics` of ``app`` (anything :func:`pipeline_of` accepts)."""
    return pipeline_of(app).analytics
