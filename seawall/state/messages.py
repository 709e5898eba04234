"""What workers tell each other about a breaker, as one JSON line on the channel.

``opened`` (a local trip, with the wall-clock time it opens until) and ``closed`` (probes
succeeded) come from breakers deciding; the :data:`~seawall.state.actions.ACTIONS` from an
operator. Decoding never raises: a message that is not ours is ``None``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from seawall.state.actions import ACTIONS

__all__ = ["CLOSED", "OPENED", "OPS", "Message", "decode", "encode"]

OPENED, CLOSED = "opened", "closed"
OPS: tuple[str, ...] = (OPENED, CLOSED, *ACTIONS)


@dataclass(frozen=True, slots=True)
class Message:
    """``op`` happened to breaker ``name`` in worker ``origin``; ``until`` is for ``opened``."""

    op: str
    name: str
    origin: str
    until: float | None = None


def encode(message: Message) -> str:
    """The message as compact JSON."""
    data: dict[str, object] = {"op": message.op, "name": message.name, "origin": message.origin}
    if message.until is not None:
        data["until"] = message.until
    return json.dumps(data, separators=(",", ":"))


def decode(raw: str | bytes) -> Message | None:
    """The message ``raw`` holds, or ``None`` when it is not a well-formed seawall message."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    op, name, origin, until = (
        data.get("op"),
        data.get("name"),
        data.get("origin"),
        data.get("until"),
    )
    if op not in OPS or not isinstance(name, str) or not isinstance(origin, str):
        return None
    if op == OPENED:
        if isinstance(until, bool) or not isinstance(until, int | float):
            return None
        return Message(op, name, origin, float(until))
    return Message(op, name, origin)
