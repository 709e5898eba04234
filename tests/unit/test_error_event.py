"""The error event's fingerprint groups failures by the app's own frames, wherever seawall sits."""

from __future__ import annotations

import seawall.asgi.middleware
import seawall.integrations.django.middleware
import seawall.resilience.breaker
from seawall.errors.event import fingerprint


def test_seawall_frames_from_any_subpackage_do_not_change_the_fingerprint() -> None:
    """Seawall's own frames (core, protocols, integrations) are not app code: adding them to a
    traceback leaves the fingerprint as the app's frames alone make it."""
    app = [("/srv/shop/views.py", 10, "checkout", None)]
    ours = [
        (module.__file__ or "", 1, "__call__", None)
        for module in (
            seawall.asgi.middleware,
            seawall.integrations.django.middleware,
            seawall.resilience.breaker,
        )
    ]
    error = RuntimeError("x")
    assert fingerprint(error, ours + app) == fingerprint(error, app)
    assert fingerprint(error, app) != fingerprint(error, [("/srv/shop/cart.py", 10, "add", None)])
