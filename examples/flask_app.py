"""A Flask app with seawall: ``gunicorn examples.flask_app:app``.

``/hello`` logs a line, ``/boom`` fails with secrets in the exception, ``/flaky?fail=1`` fails
behind a circuit breaker, ``/slow`` outlives its timeout (thread isolation: 504 at the deadline),
``/stock`` calls the upstream dependency (``examples/shared.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, jsonify, request

import seawall
import seawall.logging
from examples import shared
from seawall.integrations.flask import Seawall

log = logging.getLogger("shop")
extension = Seawall()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SEAWALL"] = shared.settings(
        slow={"timeout": 0.5, "timeout_mode": "thread", "max_concurrency": 4}
    )

    @app.get("/hello")
    def hello() -> Any:
        log.info("hello handled")
        return jsonify(message="hello", correlation_id=seawall.get_correlation_id())

    @app.get("/boom")
    def boom() -> Any:
        dsn = "postgresql://shop:" + "Sup3r-s3cret!@db.internal:5432/orders"
        raise RuntimeError(f"cannot reach {dsn} for jane.doe@example.com")

    @app.get("/flaky")
    def flaky() -> Any:
        if request.args.get("fail") == "1":
            raise ConnectionError("upstream inventory service refused the connection")
        return jsonify(inventory="ok")

    @app.get("/slow")
    def slow() -> Any:
        time.sleep(float(request.args.get("seconds", "2")))
        return jsonify(done=True)

    @app.get("/stock")
    def stock() -> Any:
        return jsonify(shared.stock())

    extension.init_app(app)
    return app


seawall.logging.configure(format="json")
app = create_app()
