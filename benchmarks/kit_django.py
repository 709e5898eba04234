"""Django variants for the shared peer-benchmark kit (``--extra benchmarks/kit_django.py``).

``django_seawall`` is the full Django integration on the kit's Django app: SeawallMiddleware
(correlation id with a stdlib log line carrying it, route guard with breaker, bulkhead and
deadline found by Django route template, problem responses, response phase). It runs in the
same interleaved run as ``django_bare``, ``django_peer`` (django-guid, django-prometheus,
pybreaker) and ``django_peer_nomet`` (the peer stack without Prometheus), defined here.

  python ../shared/bench-peers/wsgi_inprocess.py --extra benchmarks/kit_django.py \\
      -v django_bare,django_peer,django_peer_nomet,django_seawall
  python ../shared/bench-peers/wsgi_inprocess.py --error --extra benchmarks/kit_django.py \\
      -v err_django_bare,err_django_peer,err_django_seawall
"""

from __future__ import annotations

from typing import Any

from variants_wsgi import (  # type: ignore[import-not-found]
    BOOM_MESSAGE,
    CID_FMT,
    DEVNULL,
    PAYLOAD,
    ROUTE_CONCURRENCY,
    Boom,
    Variant,
    _django_variant,
    _URLConf,
    django_app,
)

NEVER_TRIP = {"failure_rate": 0.99, "minimum_calls": 1_000_000_000}
SEAWALL = {
    "routes": {
        "GET hello": {"timeout": 5.0, "max_concurrency": ROUTE_CONCURRENCY, "breaker": NEVER_TRIP},
        "GET boom": {"timeout": 5.0, "max_concurrency": ROUTE_CONCURRENCY, "breaker": NEVER_TRIP},
    },
}
MIDDLEWARE = ["seawall.integrations.django.SeawallMiddleware"]


def _install() -> None:
    """The kit configures Django once: add SEAWALL and seawall's log filter to it."""
    import logging

    from django.conf import settings

    import seawall.logging
    from seawall.integrations.django.apps import DjangoRequestFilter
    from seawall.integrations.django.conf import install_pipeline

    settings.SEAWALL = SEAWALL
    install_pipeline(None)  # plain attribute assignment sends no setting_changed
    seawall.logging.configure(format="json", stream=DEVNULL, take_over=())
    request_logger = logging.getLogger("django.request")
    if not any(isinstance(f, DjangoRequestFilter) for f in request_logger.filters):
        request_logger.addFilter(DjangoRequestFilter())


def build_seawall() -> Any:
    django_app(middleware=[])  # the kit's one-time Django set-up
    _install()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import JsonResponse
    from django.urls import path
    from variants_wsgi import make_stdlib_logger  # type: ignore[import-not-found]

    from seawall.logging import CorrelationIdFilter

    logger = make_stdlib_logger("bench.django.seawall", CID_FMT, (CorrelationIdFilter(),))

    def hello(request: Any) -> Any:
        logger.info("hello handled")
        return JsonResponse(PAYLOAD)

    def boom(request: Any) -> Any:
        raise Boom(BOOM_MESSAGE)

    conf = _URLConf([path("hello", hello), path("boom", boom)])
    settings.ROOT_URLCONF = conf
    settings.MIDDLEWARE = list(MIDDLEWARE)
    handler = WSGIHandler()
    handler._bench_urlconf = conf
    return handler


def _variant(name: str, desc: str, path: str = "/hello", status: int = 200) -> Variant:
    holder: dict[str, Any] = {}

    def build() -> Any:
        holder["app"] = build_seawall()
        return holder["app"]

    def activate() -> None:
        from django.conf import settings

        settings.ROOT_URLCONF = holder["app"]._bench_urlconf

    return Variant(name, desc, build, path, status, activate=activate)


WSGI_VARIANTS = [
    _django_variant(
        "django_peer_nomet",
        "Django peer stack without metrics: django-guid + filter/log line, pybreaker",
        middleware=["django_guid.middleware.guid_middleware"],
        log="cid",
        breaker=True,
    ),
    _variant(
        "django_seawall",
        "seawall Django integration: cid + log line, breaker+bulkhead+deadline by route, problems",
    ),
    _variant(
        "err_django_seawall",
        "seawall Django integration, error path (problem + 1 event)",
        "/boom",
        500,
    ),
]
