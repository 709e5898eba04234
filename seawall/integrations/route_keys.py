"""Route keys that match no route of the app: a typo in ``routes`` would otherwise do nothing.

The adapters hand over their router's templates (with the methods each accepts, or ``None``
when the router does not say); every settings key that none of them matches is reported with
the closest template, so the warning says what was probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from seawall.config.routes import RouteTable, parse_route_key
from seawall.server.pipeline import Pipeline

__all__ = ["Template", "UnmatchedKey", "unmatched_keys", "warn_unmatched"]

Template = tuple[str, Collection[str] | None]
"""A router's template and the methods it accepts (``None``: any, as in Django's URLconf)."""


@dataclass(frozen=True, slots=True)
class UnmatchedKey:
    """A settings key no route matches, and the closest ``METHOD template`` (if any)."""

    key: str
    closest: str | None

    @property
    def message(self) -> str:
        hint = f"; did you mean {self.closest!r}?" if self.closest else " (the app has no routes)"
        return f"seawall route key {self.key!r} matches no route of the app{hint}"


def unmatched_keys(keys: Iterable[str], templates: Iterable[Template]) -> list[UnmatchedKey]:
    """Every key in ``keys`` that matches none of ``templates``, in the order given."""
    routes = [(template, methods) for template, methods in templates]
    found = []
    for key in keys:
        method = parse_route_key(key).method
        table: RouteTable[bool] = RouteTable([(key, True)], default=False)
        if any(_matches(table, template, methods, method or "GET") for template, methods in routes):
            continue
        found.append(UnmatchedKey(key, _closest(key, method, routes)))
    return found


def warn_unmatched(pipeline: Pipeline, templates: Iterable[Template]) -> list[UnmatchedKey]:
    """Log one ``route_key_unmatched`` warning per settings key that matches no template."""
    found = unmatched_keys((key for key, _ in pipeline.settings.routes), templates)
    for unmatched in found:
        pipeline.logger.warning(
            "route_key_unmatched",
            key=unmatched.key,
            closest=unmatched.closest,
            message=unmatched.message,
        )
    return found


def _matches(
    table: RouteTable[bool], template: str, methods: Collection[str] | None, method: str
) -> bool:
    # A template seawall cannot read (a Django regex) matches no key.
    return any(table.match_template(m, template)[1] for m in methods or (method,))


def _closest(key: str, method: str | None, routes: list[Template]) -> str | None:
    candidates = sorted(
        {
            f"{m} {template}" if m else template
            for template, methods in routes
            for m in (sorted(methods) if methods else (method,))
            if m not in ("HEAD", "OPTIONS")
        }
    )
    best = difflib.get_close_matches(key, candidates, n=1, cutoff=0.0)
    return best[0] if best else None
