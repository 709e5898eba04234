"""Seawall for Flask: ``Seawall(app)`` or ``Seawall()`` + ``init_app(app)`` (app factories).

Flask turns exceptions into 500 pages inside ``wsgi_app``, so seawall wraps ``app.wsgi_app`` for
the correlation id only, and registers error handlers for ``HTTPException`` and ``Exception``
that answer with problems (Flask then does not log the raw exception). Route policies are found
from ``request.url_rule.rule`` in ``before_request`` and the WSGI layer records the outcome.
Settings come from ``app.config["SEAWALL"]`` plus ``SEAWALL_SECTION__KEY`` config keys.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

from flask import Flask, Response, after_this_request, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from seawall.config.settings import Settings
from seawall.config.sources import framework_settings
from seawall.context.deadline import remaining
from seawall.errors.exceptions import SeawallRejection
from seawall.integrations.async_views import warn_unenforced
from seawall.integrations.route_keys import warn_unmatched
from seawall.server.guard import RouteGuard
from seawall.server.keys import HANDOVER
from seawall.server.pipeline import Pipeline
from seawall.server.response import Rendered
from seawall.wsgi.guard import environ_header, environ_url
from seawall.wsgi.middleware import Handover, WSGIMiddleware

__all__ = ["Seawall"]

EXTENSION = "seawall"
_ISOLATED = "__seawall_isolated__"


class Seawall:
    """The Flask extension; one instance may serve several apps.

    >>> app.config["SEAWALL"] = {"routes": {"GET /reports/<int:id>": {"timeout": 2}}}
    >>> Seawall(app)
    """

    def __init__(
        self, app: Flask | None = None, settings: Settings | Mapping[str, Any] | None = None
    ) -> None:
        self.settings = settings
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> Pipeline:
        """Validate the settings (errors name the key) and hook seawall into ``app``."""
        pipeline = Pipeline(self._settings_for(app))
        app.extensions[EXTENSION] = pipeline
        app.wsgi_app = WSGIMiddleware(app.wsgi_app, pipeline=pipeline, policies=False)  # type: ignore[method-assign]
        hooks = _Hooks(app, pipeline)
        app.register_error_handler(HTTPException, hooks.handle)
        app.register_error_handler(Exception, hooks.handle)
        app.before_request(hooks.before)
        return pipeline

    def _settings_for(self, app: Flask) -> Settings:
        """These settings, else ``app.config["SEAWALL"]``; ``SEAWALL_*`` config keys override,
        and ``app.debug`` turns on debug details unless they set ``errors.debug``."""
        raw = self.settings or app.config.get("SEAWALL")
        source = "(root)" if self.settings else 'app.config["SEAWALL"]'
        return framework_settings(raw, debug=app.debug, config=app.config, source=source)


class _Hooks:
    """The request hooks of one app, bound to its pipeline."""

    def __init__(self, app: Flask, pipeline: Pipeline) -> None:
        self.app = app
        self.pipeline = pipeline
        self._routes: dict[tuple[str, str, str], tuple[str, RouteGuard | None]] = {}
        self._checked = False
        self._checking = threading.Lock()

    def check_routes(self) -> None:
        """Warn once about route keys no rule matches and about async views whose timeout
        WSGI cannot enforce, at the first request: rules may be added after ``init_app``
        (blueprints, factories), and are all there by then."""
        with self._checking:
            if self._checked:
                return
            self._checked = True
            rules = list(self.app.url_map.iter_rules())
            warn_unmatched(self.pipeline, [(rule.rule, rule.methods) for rule in rules])
            views = self.app.view_functions
            warn_unenforced(
                self.pipeline,
                [
                    (rule.rule, rule.methods, view)
                    for rule in rules
                    if _is_async(view := views.get(rule.endpoint), rule.methods)
                ],
            )

    def route(self, method: str, rule: Rule) -> tuple[str, RouteGuard | None]:
        """The route key and guard of a Flask rule, found once per rule with the view it then
        maps to, so that wrapping that view later (thread isolation does) changes nothing."""
        key = (method, rule.rule, rule.endpoint)
        found = self._routes.get(key)
        if found is None:
            view = self.app.view_functions.get(rule.endpoint)
            found = self._routes[key] = self.pipeline.guards.for_template(method, rule.rule, view)
        return found

    def before(self) -> None:
        """Admit the request through the guard of its Flask rule (rejections raise); the WSGI
        layer finishes the admission (none without that layer: nothing would finish it)."""
        if not self._checked:
            self.check_routes()
        current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
        rule = current.url_rule
        if rule is None:
            return
        handover: Handover | None = current.environ.get(HANDOVER)
        if handover is None:
            return
        metrics = self.pipeline.metrics
        if metrics is not None:  # the WSGI layer times the request under the rule's label
            handover.measured = measured = metrics.route(rule.rule)
            measured.start()
        guard = self.route(current.method, rule)[1]
        if guard is None:
            return
        handover.guard = guard
        handover.admission = guard.engine.enter()
        # Only an admitted request needs to know whether its body is whole: an after-request
        # hook for every request would cost each one a hook call.
        after_this_request(_completer(handover))
        if guard.engine.pool is not None:
            view = self.app.view_functions.get(rule.endpoint)
            if view is not None and not getattr(view, _ISOLATED, False):
                runnable = self.app.ensure_sync(view)  # an async view runs to its end there
                self.app.view_functions[rule.endpoint] = _isolated(runnable, guard)

    def handle(self, exc: Exception) -> Any:
        """Answer with the route's fallback (for rejections) or the problem of ``exc``; an
        ``HTTPException`` with a response of its own or a status below 400 answers as it is."""
        if isinstance(exc, HTTPException) and (exc.response is not None or (exc.code or 500) < 400):
            return exc
        current = request._get_current_object()  # type: ignore[attr-defined]
        handover: Handover | None = current.environ.get(HANDOVER)
        rule = current.url_rule
        route, guard = (None, None) if rule is None else self.route(current.method, rule)
        if isinstance(exc, SeawallRejection) and guard is not None:
            environ = current.environ
            answer = guard.refusal(
                exc, current.method, current.path, environ_url(environ), environ_header(environ)
            )
            if answer is not None:
                _fail(handover, exc)
                return _response(answer)
        if not isinstance(exc, HTTPException):
            _fail(handover, exc)
        return _response(
            self.pipeline.problem_response(
                exc,
                method=current.method,
                path=current.path,
                route=route,
                accept=current.headers.get("Accept"),
                guard=guard,
            )
        )


def _completer(handover: Handover) -> Callable[[Response], Response]:
    """The after-request function of an admitted request: a whole (not streamed) body lets the
    WSGI layer finish the admission at once."""

    def complete(response: Response) -> Response:
        if not response.is_streamed:
            handover.complete = True
        return response

    return complete


def _fail(handover: Handover | None, exc: Exception) -> None:
    """Tell the WSGI layer the request failed with ``exc`` (its breaker outcome)."""
    if handover is not None:
        handover.failure = exc


def _isolated(view: Callable[..., Any], guard: RouteGuard) -> Callable[..., Any]:
    """Run the view on the route's isolation pool: 504 at the deadline, bounded threads."""

    pool = guard.engine.pool
    if pool is None:
        return view

    def run(**kwargs: Any) -> Any:
        return pool.run(lambda: view(**kwargs), remaining(), route=guard.key)

    setattr(run, _ISOLATED, True)
    run.__name__ = getattr(view, "__name__", "view")
    return run


def _is_async(view: object, methods: Collection[str] | None) -> bool:
    """An ``async def`` view, or a class-based view with an ``async def`` handler."""
    if inspect.iscoroutinefunction(view):
        return True
    view_class = getattr(view, "view_class", None)
    return view_class is not None and any(
        inspect.iscoroutinefunction(getattr(view_class, name, None))
        for name in ("dispatch_request", *(m.lower() for m in methods or ()))
    )


def _response(answer: Rendered) -> Response:
    response = Response(answer.body, status=answer.status)
    for name, value in answer.headers:
        response.headers[name] = value
    return response
