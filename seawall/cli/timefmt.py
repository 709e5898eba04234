"""Times in logs and on the command line: ISO 8601 timestamps and ``15m``-style durations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_since", "parse_timestamp"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_timestamp(value: object) -> datetime | None:
    """A log line's ``timestamp`` (ISO 8601; naive means UTC), or ``None`` when absent or bad."""
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``--since``: an ISO 8601 time, or a duration back from now (``90s``, ``15m``, ``2h``)."""
    match = _DURATION.fullmatch(value.strip())
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    stamp = parse_timestamp(value.strip())
    if stamp is None:
        raise ValueError(f"not an ISO 8601 time or a duration like 15m: {value!r}")
    return stamp
