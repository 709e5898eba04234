"""FastAPI variants for the shared peer-benchmark kit (``--extra benchmarks/kit_fastapi.py``).

``fastapi_seawall`` is the full FastAPI integration (correlation id with a stdlib log line
carrying it, breaker, timeout and bulkhead found by the router template, problem responses).
``fastapi_peer`` is what users assemble instead: asgi-correlation-id (+ its log filter),
prometheus-fastapi-instrumentator and pybreaker around the endpoint; ``fastapi_peer_nomet``
is the same without metrics. All share the same routes and log line:

  python ../shared/bench-peers/asgi_inprocess.py --extra benchmarks/kit_fastapi.py \\
      -v fastapi_bare,fastapi_peer_nomet,fastapi_peer,fastapi_seawall
"""

from __future__ import annotations

from typing import Any

from variants_asgi import (  # type: ignore[import-not-found]
    BOOM_MESSAGE,
    BREAKER_FAIL_MAX,
    BREAKER_RESET_S,
    CID_FMT,
    DEVNULL,
    PAYLOAD,
    Boom,
    Variant,
    make_stdlib_logger,
)

import seawall.logging

NEVER_TRIP = {"failure_rate": 0.99, "minimum_calls": 1_000_000_000}
POLICY = {"timeout": 5.0, "max_concurrency": 100, "breaker": NEVER_TRIP}


def _app(log: Any, breaker: Any = None) -> Any:
    from fastapi import FastAPI

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        log.info("hello handled")
        if breaker is not None:
            with breaker.calling():
                return PAYLOAD  # type: ignore[no-any-return]
        return PAYLOAD  # type: ignore[no-any-return]

    @app.get("/boom")
    async def boom() -> None:
        raise Boom(BOOM_MESSAGE)

    return app


def build_fastapi_seawall() -> Any:
    from seawall.integrations.fastapi import install

    log = make_stdlib_logger(
        "bench.fastapi.seawall", CID_FMT, (seawall.logging.CorrelationIdFilter(),)
    )
    seawall.logging.configure(format="json", stream=DEVNULL, take_over=())
    app = _app(log)
    install(app, {"routes": {"GET /hello": POLICY, "GET /boom": POLICY}})
    return app


def build_fastapi_peer(metrics: bool = True) -> Any:
    import pybreaker
    from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware

    log = make_stdlib_logger("bench.fastapi.peer", CID_FMT, (CorrelationIdFilter(),))
    app = _app(
        log, pybreaker.CircuitBreaker(fail_max=BREAKER_FAIL_MAX, reset_timeout=BREAKER_RESET_S)
    )
    app.add_middleware(CorrelationIdMiddleware)
    if metrics:
        from prometheus_client import CollectorRegistry
        from prometheus_fastapi_instrumentator import Instrumentator

        Instrumentator(registry=CollectorRegistry()).instrument(app)
    return app


ASGI_VARIANTS = [
    Variant(
        "fastapi_seawall",
        "seawall FastAPI integration: id+log, breaker, timeout, bulkhead, problems",
        build_fastapi_seawall,
    ),
    Variant(
        "fastapi_peer",
        "asgi-correlation-id + log, prometheus-fastapi-instrumentator, pybreaker",
        build_fastapi_peer,
    ),
    Variant(
        "fastapi_peer_nomet",
        "fastapi_peer without metrics",
        lambda: build_fastapi_peer(metrics=False),
    ),
]
