"""What every request shares, built once from settings.

The public path; the implementation lives in :mod:`seawall.server.pipeline`."""

from seawall.server.pipeline import (
    Pipeline,
)

__all__ = [
    "Pipeline",
]
