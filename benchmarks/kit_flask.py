"""Flask variants for the shared peer-benchmark kit (``--extra benchmarks/kit_flask.py``).

``flask_seawall`` is the full Flask integration on the kit's Flask app: correlation id with a
stdlib log line carrying it, route guard (breaker and bulkhead, found by the Flask rule) and
problem responses. Compare it in one run with ``flask_bare``, ``flask_peer_nomet`` (request id
+ log line, pybreaker, semaphore bulkhead, problem+json handler) and ``flask_peer``:

  python ../shared/bench-peers/wsgi_inprocess.py --extra benchmarks/kit_flask.py \\
      -v flask_bare,flask_peer_reqid_breaker,flask_peer_nomet,flask_peer,flask_seawall
  python ../shared/bench-peers/wsgi_inprocess.py --error --extra benchmarks/kit_flask.py \\
      -v err_flask_bare,err_flask_peer_nomet,err_flask_seawall
"""

from __future__ import annotations

from typing import Any

from variants_asgi import CID_FMT, make_stdlib_logger  # type: ignore[import-not-found]
from variants_wsgi import DEVNULL, ROUTE_CONCURRENCY, Variant, flask_app  # type: ignore[import-not-found]

import seawall.logging
from seawall.integrations.flask import Seawall

NEVER_TRIP = {"failure_rate": 0.99, "minimum_calls": 1_000_000_000}
POLICY = {"max_concurrency": ROUTE_CONCURRENCY, "breaker": NEVER_TRIP}


def build_flask_seawall() -> Any:
    app = flask_app()
    log = make_stdlib_logger(
        "bench.flask.seawall", CID_FMT, (seawall.logging.CorrelationIdFilter(),)
    )
    view = app.view_functions["hello"]

    def hello() -> Any:
        log.info("hello handled")
        return view()

    app.view_functions["hello"] = hello
    app.config["SEAWALL"] = {"routes": {"GET /hello": POLICY, "GET /boom": POLICY}}
    seawall.logging.configure(format="json", stream=DEVNULL, take_over=())
    Seawall(app)
    return app


WSGI_VARIANTS = [
    Variant(
        "flask_peer_reqid_breaker",
        "issue 6's Flask peer: request-id extension + filter/log line + pybreaker",
        lambda: flask_app(log="rid", request_id=True, breaker=True),
    ),
    Variant(
        "flask_seawall",
        "seawall Flask integration: id+log line, breaker, bulkhead, problems",
        build_flask_seawall,
    ),
    Variant(
        "err_flask_seawall",
        "seawall Flask integration, error path",
        build_flask_seawall,
        "/boom",
        500,
    ),
]
