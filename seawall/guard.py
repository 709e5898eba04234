"""What a route's fallback callable gets and may return.

The public path; the implementation lives in :mod:`seawall.server.fallback`."""

from seawall.server.fallback import FallbackRequest, FallbackResponse

__all__ = ["FallbackRequest", "FallbackResponse"]
