"""Prometheus metrics, for apps that expose the registry their own way.

``pipeline.metrics.registry`` holds an app's metrics (``metrics.enabled``);
:func:`exposition` renders it as the ``/metrics`` endpoint does. The public path; the
implementation lives in :mod:`seawall.observability.metrics` and needs the ``prometheus``
extra."""

from seawall.observability.metrics import *  # noqa: F403
from seawall.observability.metrics import __all__ as __all__  # noqa: PLC0414 (re-exported)
