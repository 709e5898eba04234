"""What every request shares, built once from settings.

The public path; the implementation lives in :mod:`seawall.server.pipeline`."""

from seawall.server.pipeline import *  # noqa: F403
from seawall.server.pipeline import __all__ as __all__  # noqa: PLC0414 (re-exported)
