"""Seawall variants for the shared peer-benchmark kit (``--extra benchmarks/seawall_variants.py``).

Each variant reuses the kit's apps, routes and log sinks, so seawall is measured in the same
interleaved run as the peers it replaces. ``benchmarks/run.sh`` runs the comparisons.
"""

from __future__ import annotations

from typing import Any

from variants_asgi import (  # type: ignore[import-not-found]
    CID_FMT,
    DEVNULL,
    Variant,
    make_stdlib_logger,
    starlette_app,
)

import seawall
import seawall.logging

ROUTES = {
    "GET /hello": {
        "timeout": 5.0,
        "max_concurrency": 100,
        "breaker": {"failure_rate": 0.99, "minimum_calls": 1_000_000_000},
    },
    "GET /boom": {
        "timeout": 5.0,
        "max_concurrency": 100,
        "breaker": {"failure_rate": 0.99, "minimum_calls": 1_000_000_000},
    },
}


def _quiet_seawall_logger() -> None:
    """Seawall's own events go through the same JSON pipeline into the kit's devnull sink."""
    seawall.logging.configure(format="json", stream=DEVNULL, take_over=())


def build_asgi_cid_only() -> Any:
    """asgi-correlation-id alone, no log line: the peer of seawall's correlation stage."""
    from asgi_correlation_id import CorrelationIdMiddleware
    from starlette.middleware import Middleware

    return starlette_app(middleware=[Middleware(CorrelationIdMiddleware)])


def build_seawall_cid_only() -> Any:
    """Seawall with no route policies: the correlation stage alone, no log line."""
    _quiet_seawall_logger()
    return seawall.ASGIMiddleware(starlette_app())


def _seawall_logged_hello() -> Any:
    from variants_asgi import logged_hello

    log = make_stdlib_logger(
        "bench.asgi.seawall", CID_FMT, (seawall.logging.CorrelationIdFilter(),)
    )
    return logged_hello(log)


def _seawall_around(app_factory: Any, settings: dict[str, Any]) -> Any:
    """Correlation outermost, problem mapping inside Starlette's error layer (as in install()).

    Problem mapping is the only user middleware, right inside ``ServerErrorMiddleware``, so it
    reads the correlation layer's exchange, as install() arranges in that case.
    """
    from starlette.middleware import Middleware

    from seawall.asgi.middleware import ProblemMiddleware
    from seawall.server.pipeline import Pipeline

    _quiet_seawall_logger()
    pipeline = Pipeline(settings)
    problems = Middleware(ProblemMiddleware, pipeline=pipeline, adjacent=True)
    app = app_factory(middleware=[problems])
    return seawall.ASGIMiddleware(app, pipeline=pipeline)


def build_seawall_stack() -> Any:
    """Seawall's full stack: id + log line, breaker, timeout, bulkhead, problem+json."""
    hello = _seawall_logged_hello()
    return _seawall_around(
        lambda middleware: starlette_app(hello_ep=hello, middleware=middleware), {"routes": ROUTES}
    )


def build_peer_error_stack() -> Any:
    """The error-path peer: asgi-correlation-id + problem+json handler + 1 log line with exc_info."""
    from asgi_correlation_id import CorrelationIdMiddleware
    from starlette.middleware import Middleware
    from variants_asgi import cid_logger, problem_json_handler

    return starlette_app(
        middleware=[Middleware(CorrelationIdMiddleware)],
        exception_handlers={Exception: problem_json_handler(cid_logger(), True, exc_info=True)},
    )


def build_seawall_stack_no_log() -> Any:
    """Seawall's full stack without any log line: correlation, breaker, timeout, bulkhead."""
    return _seawall_around(
        lambda middleware: starlette_app(middleware=middleware), {"routes": ROUTES}
    )


def build_seawall_install() -> Any:
    """What ``seawall.integrations.starlette.install`` gives a Starlette app: the full stack
    (id, breaker, timeout, bulkhead, problems) keyed by the router's templates, no log line."""
    from seawall.integrations.starlette import install

    _quiet_seawall_logger()
    app = starlette_app()
    install(app, {"routes": ROUTES})
    return app


def _seawall_one_policy(policy: dict[str, Any]) -> Any:
    """Seawall with a single policy on /hello: to see what each stage costs."""
    return lambda: _seawall_around(
        lambda middleware: starlette_app(middleware=middleware),
        {"routes": {"GET /hello": policy}},
    )


# -- metrics (issue 15): the same stacks with metrics on, with the kit's 2 routes and with 50 --

METRICS = {"metrics": {"enabled": True}}
EXTRA_ROUTES = 48  # + /hello and /boom: 50 routes, /hello matched last


def _fifty_route_app(middleware: Any = ()) -> Any:
    """The kit's Starlette app with 48 templated routes before its own two (50 in all)."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    from variants_asgi import boom, hello

    extra = [Route(f"/r{n}/{{id}}", hello) for n in range(EXTRA_ROUTES)]
    return Starlette(
        routes=[*extra, Route("/hello", hello), Route("/boom", boom)],
        middleware=list(middleware),
    )


def _install(app: Any, settings: dict[str, Any]) -> Any:
    from seawall.integrations.starlette import install

    _quiet_seawall_logger()
    install(app, settings)
    return app


def _prom_exporter_50() -> Any:
    """starlette-exporter (group_paths, as the kit's e_prom_exp) on the 50-route app."""
    from starlette.middleware import Middleware
    from starlette_exporter import PrometheusMiddleware

    return _fifty_route_app([Middleware(PrometheusMiddleware, app_name="bench", group_paths=True)])


def _instrumentator_50() -> Any:
    """prometheus-fastapi-instrumentator on the 50-route app."""
    from prometheus_fastapi_instrumentator import Instrumentator

    app = _fifty_route_app()
    Instrumentator().instrument(app)
    return app


METRICS_VARIANTS = [
    Variant(
        "sw_install_met",
        "seawall install(): full stack + metrics, 2 routes",
        lambda: _install(starlette_app(), {"routes": ROUTES, **METRICS}),
    ),
    Variant(
        "sw_install_50",
        "seawall install(): full stack, 50 routes",
        lambda: _install(_fifty_route_app(), {"routes": ROUTES}),
    ),
    Variant(
        "sw_install_met_50",
        "seawall install(): full stack + metrics, 50 routes",
        lambda: _install(_fifty_route_app(), {"routes": ROUTES, **METRICS}),
    ),
    Variant(
        "sw_stack_nolog_met",
        "seawall full stack (plain middleware) + metrics, no log line",
        lambda: _seawall_around(
            lambda middleware: starlette_app(middleware=middleware), {"routes": ROUTES, **METRICS}
        ),
    ),
    Variant("a_bare_50", "bare Starlette app, 50 routes", _fifty_route_app),
    Variant("e_prom_exp_50", "starlette-exporter, 50 routes", _prom_exporter_50),
    Variant("e2_prom_instr_50", "prometheus-fastapi-instrumentator, 50 routes", _instrumentator_50),
]

ASGI_VARIANTS = [
    Variant("cid_peer_only", "asgi-correlation-id alone, no log line", build_asgi_cid_only),
    Variant("sw_cid_only", "seawall correlation stage alone, no log line", build_seawall_cid_only),
    Variant("sw_stack_nolog", "seawall full stack, no log line", build_seawall_stack_no_log),
    Variant(
        "sw_install",
        "seawall install() on Starlette: full stack, no log line",
        build_seawall_install,
    ),
    Variant("sw_timeout_only", "seawall, timeout only", _seawall_one_policy({"timeout": 5.0})),
    Variant(
        "sw_breaker_only",
        "seawall, breaker only",
        _seawall_one_policy(ROUTES["GET /hello"] | {"timeout": None, "max_concurrency": None}),
    ),
    Variant(
        "sw_bulkhead_only", "seawall, bulkhead only", _seawall_one_policy({"max_concurrency": 100})
    ),
    Variant(
        "sw_stack",
        "seawall: id+log line, breaker, timeout, bulkhead, problems",
        build_seawall_stack,
    ),
    Variant(
        "err_sw_stack",
        "seawall full stack, error path (event with redacted traceback)",
        build_seawall_stack,
        "/boom",
        500,
    ),
    Variant(
        "err_peer_cid_problem_tb",
        "asgi-correlation-id + problem+json handler + log line with exc_info",
        build_peer_error_stack,
        "/boom",
        500,
    ),
    *METRICS_VARIANTS,
]
