"""What a route's fallback callable gets and may return.

The public path; the implementation lives in :mod:`seawall.server.guard`."""

from seawall.server.guard import (
    FallbackRequest,
    FallbackResponse,
)

__all__ = [
    "FallbackRequest",
    "FallbackResponse",
]
