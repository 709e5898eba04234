"""The ``metrics`` section: Prometheus metrics on or off, their path, the duration buckets."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

from seawall.config.parse import Parsed, Table, show
from seawall.config.schema import MetricsSettings
from seawall.config.sections.admin import endpoint_path

__all__ = ["parse_metrics"]

KEYS = ("enabled", "path", "buckets")


def parse_metrics(path: str, raw: object, earlier: Parsed) -> MetricsSettings:
    s = Table(path, raw, KEYS)
    default = MetricsSettings()
    enabled = s.flag("enabled", default.enabled)
    if enabled and not _installed():
        s.error(
            "enabled",
            "metrics need prometheus-client, which is not installed:"
            " pip install seawall[prometheus]",
        )
    return MetricsSettings(
        enabled=enabled, path=endpoint_path(s, "path", default.path), buckets=_buckets(s)
    )


def _installed() -> bool:
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def _buckets(s: Table) -> tuple[float, ...] | None:
    """``buckets``: increasing upper bounds in seconds (``+Inf`` is always added)."""
    raw = s.get("buckets")
    if raw is None:
        return None
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        s.error("buckets", f"expected a list of seconds, got {show(raw)}")
        return None
    bounds = tuple(raw)
    if not bounds or not all(
        isinstance(b, int | float) and not isinstance(b, bool) and b > 0 and not math.isnan(b)
        for b in bounds
    ):
        s.error("buckets", f"expected positive numbers of seconds, got {show(raw)}")
        return None
    if any(a >= b for a, b in itertools.pairwise(bounds)):
        s.error("buckets", f"bounds must increase, got {show(raw)}")
        return None
    return tuple(float(b) for b in bounds if not math.isinf(b))
