"""The record one HTTP request's response leaves as it passes seawall's outer ASGI layer.

The correlation layer tags the response start with the id and records the status; layers
that see every message as soon as it is sent (problem mapping right inside it, route guards)
read that record instead of wrapping ``send`` once more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from seawall.observability.request_metrics import RouteMetrics
from seawall.server.headers import set_header_bytes

__all__ = ["Exchange"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]


class Exchange:
    """One HTTP request's response as the correlation layer sends it: tagged with the id, its
    status recorded. Layers directly inside read it instead of wrapping ``send`` again."""

    __slots__ = ("_display", "_name", "_send", "_value", "measured", "status")

    def __init__(
        self, send: Send, name: bytes = b"", value: bytes = b"", display: str = ""
    ) -> None:
        """Without ``name``, only record the status."""
        self._send = send
        self._name = name
        self._value = value
        self._display = display
        self.status = 0
        # The route's metrics once an adapter's route layer knows the route and counted it
        # active: the correlation layer records the request there when it ends.
        self.measured: RouteMetrics | None = None

    def send(self, message: Message) -> Awaitable[None]:
        """The ASGI ``send`` for the layers inside: edits the start, then hands the message on.

        A plain function returning the next layer's awaitable, not a coroutine of its own: the
        caller's ``await`` is the same, and no coroutine is made for every message.
        """
        if type(message) is dict:
            # What servers and frameworks pass: compiled, dict operations are C calls, where
            # a mapping's are looked up by name (about 600 instructions a response).
            fast: dict[str, Any] = message
            if fast["type"] == "http.response.start":
                self.status = fast["status"]
                if self._name:
                    fast["headers"] = set_header_bytes(
                        fast.get("headers", ()), self._name, self._value, self._display
                    )
        elif message["type"] == "http.response.start":
            self.status = message["status"]
            if self._name:
                message["headers"] = set_header_bytes(
                    message.get("headers", ()), self._name, self._value, self._display
                )
        return self._send(message)
