"""Alert claims shared on Redis, so N workers send one notification instead of N.

A claim is ``SET {prefix}alert:{key} NX PX ttl``: one round trip, at most ``state.timeout``,
made by the alert worker thread (never a request's) once the worker's own memory has admitted
the alert, so once per notification, never per request. While Redis is away every claim is
won: each worker's own memory has decided already, as every breaker decides alone.
"""

from __future__ import annotations

from seawall.state.shared import RedisState

__all__ = ["RedisAlertMemory"]


class RedisAlertMemory:
    """An :class:`~seawall.observability.alerts.memory.AlertMemory` on the shared state."""

    def __init__(self, state: RedisState) -> None:
        self._state = state
        self._prefix = state.settings.prefix + "alert:"

    def claim(self, key: str, ttl: float) -> bool:
        if not self._state.available:
            return True
        try:
            px = max(1, int(ttl * 1000))
            return bool(self._state.store.client.set(self._prefix + key, "1", nx=True, px=px))
        except Exception as exc:  # redis-py's errors: decide alone, as the breakers do
            self._state.report_unavailable(exc)
            return True

    def release(self, key: str) -> None:
        if not self._state.available:
            return
        try:
            self._state.store.client.delete(self._prefix + key)
        except Exception as exc:  # the claim expires on its own
            self._state.report_unavailable(exc)
