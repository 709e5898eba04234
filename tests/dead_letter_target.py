"""Callables the dead-letter tests store and replay by dotted path, in this and other processes."""

from __future__ import annotations

import urllib.request
from typing import Any

import seawall

CALLS: list[tuple[Any, ...]] = []


def deliver(url: str, number: int) -> None:
    """POST ``number`` to ``url`` (a local test server that counts deliveries)."""
    request = urllib.request.Request(url, data=str(number).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def remember(*args: Any, idempotency_key: str | None = None) -> None:
    """Record the call in this process (with the idempotency key a replay passes)."""
    CALLS.append((*args, idempotency_key))


def fail(*args: Any) -> None:
    raise ConnectionError("upstream refused password=hunter2")


# Decorated callables of the dependency dead-letter tests: ``FAILING`` says how many more
# calls fail; each call that runs is recorded with the idempotency key it got.
FAILING: list[int] = [0]
RUNS: list[tuple[Any, ...]] = []


def _maybe_fail(*args: Any) -> None:
    RUNS.append(args)
    if FAILING[0] > 0:
        FAILING[0] -= 1
        raise ConnectionError("mail relay refused password=hunter2")


@seawall.dependency("mailer")
def send_mail(to: str, *, subject: str, idempotency_key: str | None = None) -> str:
    """Send a mail through the ``mailer`` dependency (fails while ``FAILING`` says so)."""
    _maybe_fail(to, subject, idempotency_key)
    return f"sent to {to}"


@seawall.dependency("mailer")
async def send_mail_async(to: str) -> str:
    _maybe_fail(to)
    return f"sent to {to}"


def fallback_mail(call: Any) -> str:
    """The ``mailer`` fallback of the tests: answers that the mail is queued."""
    return "queued"


@seawall.dependency("webhook")
def post_webhook(url: str, number: int) -> int:
    """POST ``number`` to ``url`` with httpx through seawall's transport; a 5xx raises."""
    import httpx

    from seawall.integrations.httpx import Transport

    with httpx.Client(transport=Transport(), timeout=10) as client:
        response = client.post(url, content=str(number).encode())
        response.raise_for_status()
        return response.status_code
