"""A small "upstream" HTTP service the example apps call as a dependency; fails on demand.

``python -m examples.upstream PORT`` listens on 127.0.0.1. ``GET /stock`` answers
``{"stock": 7}``, or ``503`` while failures are pending; ``POST /mode {"fail": N}`` makes the
next N requests to ``/stock`` fail. Each request is logged as one JSON line with the
correlation id it carried, so the demo can show it crossed over.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: _Upstream

    def do_GET(self) -> None:
        upstream = self.server
        with upstream.lock:
            failing = upstream.failures > 0
            upstream.failures -= failing
        status = 503 if failing else 200
        body = {"error": "inventory database restarting"} if failing else {"stock": 7}
        self._answer(status, body)

    def do_BREW(self) -> None:  # an odd method, for the metrics' ``_OTHER``
        self.do_GET()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        mode = json.loads(self.rfile.read(length) or b"{}")
        with self.server.lock:
            self.server.failures = int(mode.get("fail", 0))
        self._answer(200, {"fail": self.server.failures})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        line = {
            "upstream": f"{self.command} {self.path}",
            "x_request_id": self.headers.get("x-request-id"),
            "status": status,
        }
        self.server.seen.append(line)
        print(json.dumps(line), flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        """The JSON line above is the log."""


class _Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.lock = threading.Lock()
        self.failures = 0
        self.seen: list[dict[str, Any]] = []  # every request's log line, for tests


def make_server(port: int) -> ThreadingHTTPServer:
    """The upstream on 127.0.0.1:``port`` (0: any free port), not yet serving."""
    return _Upstream(port)


if __name__ == "__main__":
    make_server(int(sys.argv[1])).serve_forever()
