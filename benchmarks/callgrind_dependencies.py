"""One row of dependency-call work, N times, for callgrind (see instructions_dependencies.sh).

    python benchmarks/callgrind_dependencies.py ROW N

Rows: ``bare`` (a plain call), ``decorator`` (the full policy: timeout, bulkhead, breaker,
retry), ``rejection`` (an open breaker, CircuitOpenError caught), ``tenacity``, ``stamina``;
``http_bare``, ``http_seawall`` and ``http_retries`` send a GET through ``httpx.Client`` over an
in-memory transport: bare, wrapped in seawall's ``Transport`` (the full policy), and in
httpx-retries' ``RetryTransport``; ``layer_bare``, ``layer_seawall`` and ``layer_retries`` call
``handle_request`` itself around an inner transport that returns a ready answer (the wrapper's
own work, without httpx.Client's), ``layer_seawall_retry`` a dependency with retries only,
like httpx-retries'; ``floor`` raises and catches an exception (a rejection's
least cost).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # an installed or compiled build wins

import seawall


def work(x: int) -> int:
    return x


def build(row: str) -> tuple[Callable[[int], object], type[BaseException]]:
    deps = seawall.Dependencies(
        {"dependencies": {
            "payments": {"hosts": ["api.payments.example"], "timeout": 2.0, "max_concurrency": 10, "breaker": {"minimum_calls": 20},
                         "retry": {"attempts": 3}},
            "plain": {"hosts": ["api.plain.example"], "retry": {"attempts": 3}},
            "down": {"breaker": True},
        }}
    )  # fmt: skip
    if row == "bare":
        return work, KeyError
    if row == "decorator":
        return seawall.dependency("payments")(work), KeyError
    if row == "rejection":
        deps["down"].breaker.force_open()  # type: ignore[union-attr]
        return seawall.dependency("down")(work), seawall.CircuitOpenError
    if row == "floor":

        def fail(i: int) -> None:
            raise KeyError(i)

        return fail, KeyError
    if row.startswith("layer_"):
        return layer(row), KeyError
    if row.startswith("http_"):
        import httpx

        inner = httpx.MockTransport(lambda request: httpx.Response(200, content=b"ok"))
        if row == "http_seawall":
            from seawall.integrations.httpx import Transport

            transport: httpx.BaseTransport = Transport(inner)
        elif row == "http_retries":
            from httpx_retries import RetryTransport

            transport = RetryTransport(inner)
        else:
            transport = inner
        client = httpx.Client(transport=transport)
        return (lambda i: client.get("https://api.payments.example/ok")), KeyError
    if row == "tenacity":
        import tenacity

        return tenacity.retry(stop=tenacity.stop_after_attempt(3))(work), KeyError
    if row == "stamina":
        import stamina

        return stamina.retry(on=ConnectionError, attempts=3)(work), KeyError
    raise SystemExit(f"unknown row {row!r}")


def layer(row: str) -> Callable[[int], object]:
    """``handle_request`` of the row's transport around a ready answer, fresh timeouts each."""
    import httpx

    class Answer(httpx.BaseTransport):
        def __init__(self) -> None:
            self.response = httpx.Response(200, content=b"ok")

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self.response

    inner = Answer()
    if row in ("layer_seawall", "layer_seawall_retry"):
        from seawall.integrations.httpx import Transport

        transport: httpx.BaseTransport = Transport(inner)
    elif row == "layer_retries":
        from httpx_retries import RetryTransport

        transport = RetryTransport(inner)
    else:
        transport = inner
    host = "api.plain.example" if row == "layer_seawall_retry" else "api.payments.example"
    request = httpx.Request("GET", f"https://{host}/ok")
    timeouts = httpx.Timeout(5.0).as_dict()
    handle = transport.handle_request

    def send(i: int) -> object:
        request.extensions = {"timeout": dict(timeouts)}  # as httpx.Client builds it
        return handle(request)

    return send


def main() -> None:
    row, n = sys.argv[1], int(sys.argv[2])
    fn, expected = build(row)
    for i in range(n):
        try:  # noqa: SIM105 (contextlib.suppress would cost more than a rejection)
            fn(i)
        except expected:
            pass


if __name__ == "__main__":
    main()
