"""The request's deadline: how long the current request has left.

The public path; the implementation lives in :mod:`seawall.context.deadline`."""

from seawall.context.deadline import *  # noqa: F403
from seawall.context.deadline import __all__ as __all__  # noqa: PLC0414 (re-exported)
