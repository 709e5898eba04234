"""A real HTTP server on 127.0.0.1 that records what alert sinks POST to it.

It can answer with given statuses first, or hang (hold each request without answering until
the block ends), to test retries and a sink that never answers. It counts the requests it holds
at once (received, not answered yet), to test that a sink never has two deliveries at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered first, in order; then 200
    hang: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    open: int = 0  # requests received and not answered yet
    most_open: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Poll (bounded) until ``count`` requests arrived; returns them."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.requests)


@contextmanager
def receiver(*, hang: bool = False, statuses: list[int] | None = None) -> Iterator[Receiver]:
    """Start the server; on exit, release hanging requests and stop it."""
    state = Receiver("", statuses=list(statuses or []), hang=hang)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                state.open += 1
                state.most_open = max(state.most_open, state.open)
                status = state.statuses.pop(0) if state.statuses else 200
            if state.hang:
                state.release.wait(30)
            with state.lock:  # before the answer: the client cannot have it yet
                state.open -= 1
            if state.hang:
                return
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
