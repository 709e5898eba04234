"""Requests that end-to-end tests send to a running example app to see its guards act."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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


def mismatched_ids(server: Server, path: str, ids: list[str], threads: int) -> int:
    """Send one request per id from ``threads`` threads at once; count the responses whose
    header or body carries another id than the one sent.

    Each thread keeps its own client: httpx's connection pool is not shared safely across
    threads, and a socket one thread closes while another reads it fails that request with
    EBADF, a fault of the test's client, not of the server under test.
    """

    def share(index: int) -> int:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            responses = [
                (client.get(path, headers={"X-Request-ID": cid}), cid)
                for cid in ids[index::threads]
            ]
        return sum(
            r.headers["x-request-id"] != cid or r.json()["correlation_id"] != cid
            for r, cid in responses
        )

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(share, range(threads)))
