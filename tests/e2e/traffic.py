"""Requests that end-to-end tests send to a running example app to see its guards act."""

from __future__ import annotations

import httpx

from examples.servers import Server


def slow_and_flaky(server: Server) -> tuple[httpx.Response, httpx.Response]:
    """Drive an example's ``/slow`` past its timeout and ``/flaky`` until its breaker opens.

    Returns the slow response and the first response after the failures.
    """
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        slow = client.get("/slow", params={"seconds": "3"})
        for _ in range(4):
            client.get("/flaky", params={"fail": "1"})
        return slow, client.get("/flaky")
