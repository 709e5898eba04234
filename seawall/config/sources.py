"""Where settings come from: a mapping, ``SEAWALL_SECTION__KEY`` overlays, a TOML file, and the
frameworks' configuration with their debug flag, written once for every adapter.

Overlays copy each mapping they change, so they never write into the caller's settings.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from seawall.config.parse import show
from seawall.config.settings import Settings, SettingsError

__all__ = ["PREFIX", "framework_settings", "merge_env", "overlay", "read_toml"]

PREFIX = "SEAWALL_"
"""Names starting with it and naming a section and a key set one setting:
``SEAWALL_CORRELATION__MAX_LENGTH`` is ``correlation.max_length``. A name without ``__``
(``SEAWALL_REQUIRE_SERVICES``) is not a setting: every setting lives in a section; one that
names a section only (``SEAWALL_ROUTES``) is refused, as it would silently do nothing."""


def overlay(base: Mapping[str, Any], items: Mapping[str, object]) -> dict[str, Any]:
    """A copy of ``base`` with each ``SEAWALL_A__B`` item of ``items`` set at ``["a"]["b"]``,
    its value as given; other names (no prefix, or no ``__``) are not settings and are passed
    over. Each mapping on
    the way to a value is copied before it is written, never the caller's."""
    merged = dict(base)
    sections = {f.name for f in fields(Settings)}
    for name, value in items.items():
        if not name.startswith(PREFIX):
            continue
        if "__" not in name:
            if name[len(PREFIX) :].lower() in sections:  # SEAWALL_ROUTES = {...}: never read
                raise SettingsError(
                    name,
                    f"names a section but no key, so it would be ignored: use"
                    f" {name}__KEY for one key, or put the section in SEAWALL",
                )
            continue
        path = [part.lower() for part in name[len(PREFIX) :].split("__") if part]
        if not path:
            continue
        target = merged
        for depth, part in enumerate(path[:-1]):
            existing = target.get(part)
            if existing is not None and not isinstance(existing, Mapping):
                where = ".".join(path[: depth + 1])
                raise SettingsError(where, f"expected a mapping, got {show(existing)} ({name})")
            target[part] = dict(existing or {})
            target = target[part]
        target[path[-1]] = value
    return merged


def merge_env(base: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Overlay ``SEAWALL_A__B=value`` onto ``base["a"]["b"]``; values parse as JSON if they can."""
    return overlay(
        base, {name: _env_value(raw) for name, raw in environ.items() if name.startswith(PREFIX)}
    )


def read_toml(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The ``[tool.seawall]`` table of a TOML file (pyproject style), or the whole file."""
    with Path(path).open("rb") as fh:
        data = tomllib.load(fh)
    table: Mapping[str, Any] = data.get("tool", {}).get("seawall", data)
    return table


def framework_settings(
    raw: Settings | Mapping[str, Any] | None,
    *,
    debug: bool,
    config: Mapping[str, object] | None = None,
    source: str = "(root)",
) -> Settings:
    """The settings an adapter runs with. A ``Settings`` is used as given; a mapping is
    overlaid with the ``SEAWALL_*`` entries of the framework's ``config`` (values as given),
    and ``errors.debug`` follows the framework's ``debug`` flag unless it is set there.
    ``source`` names where ``raw`` came from, for the error when it is no mapping.

    >>> framework_settings(app.config.get("SEAWALL"), debug=app.debug, config=app.config)
    """
    if isinstance(raw, Settings):
        return raw
    if raw is None:
        raw = {}
    elif not isinstance(raw, Mapping):
        raise SettingsError(source, f"expected a mapping or Settings, got {type(raw).__name__}")
    data = overlay(raw, config or {})
    errors = data.get("errors")
    if errors is None or (isinstance(errors, Mapping) and "debug" not in errors):
        data["errors"] = {**(errors or {}), "debug": debug}
    return Settings.from_mapping(data)


def _env_value(raw: str) -> object:
    try:
        value: object = json.loads(raw)
    except ValueError:
        return raw
    return value
