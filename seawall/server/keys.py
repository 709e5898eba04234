"""The keys seawall's layers share in an ASGI scope or a WSGI environ."""

from __future__ import annotations

__all__ = ["EXCHANGE", "HANDOVER", "ROUTE", "ROUTE_METRICS"]

ROUTE = "seawall.route"
"""Scope key of the request's route key, set by the layer that found the route."""

EXCHANGE = "seawall.exchange"
"""Scope key of the correlation layer's :class:`~seawall.asgi.exchange.Exchange`."""

HANDOVER = "seawall.handover"
"""Environ key of the request's :class:`~seawall.wsgi.middleware.Handover`, set when an adapter
admits requests inside the app (``policies=False``)."""

ROUTE_METRICS = "seawall.route_metrics"
"""Scope key of the request's :class:`~seawall.observability.metrics.RouteMetrics`, set by an
adapter's route layer (which also counts the route's active requests)."""
