"""One HTTP POST with the standard library, bounded by a timeout; failures raise."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping

__all__ = ["DeliveryError", "post"]


class DeliveryError(Exception):
    """A delivery failed; ``retry`` says whether trying again may help (not for most 4xx)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body``; the status when it is 2xx, else :class:`DeliveryError`."""
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(65536)
            status: int = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
        raise DeliveryError(f"HTTP {status}", retry=status >= 500 or status in (408, 429)) from None
    except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
        raise DeliveryError(type(exc).__name__) from None
    return status
