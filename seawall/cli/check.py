"""``seawall check [SOURCE]``: validate settings and print every error with its key path.

SOURCE is a TOML file (``[tool.seawall]`` or the whole file), ``module:attribute`` (a mapping
or ``Settings``), or a Django settings module (its ``SEAWALL``). Without it: the module in
``DJANGO_SETTINGS_MODULE``, else ``pyproject.toml`` here. Exit status 1 when the settings have
errors, 2 when SOURCE cannot be read.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seawall.config.parse import collecting, join_path
from seawall.config.settings import Settings, SettingsError
from seawall.config.sources import read_toml

__all__ = ["SourceError", "load_source", "register", "run", "validate"]


class SourceError(Exception):
    """SOURCE names nothing that can be read."""


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser("check", help="validate seawall settings", description=__doc__)
    cmd.add_argument("source", nargs="?", help="FILE.toml, module:attribute or a settings module")
    cmd.set_defaults(run=run)


def load_source(source: str | None) -> tuple[str, object]:
    """What SOURCE names, and the raw settings found there."""
    if source is None:
        django = os.environ.get("DJANGO_SETTINGS_MODULE")
        if django:
            source = django
        elif Path("pyproject.toml").is_file():
            source = "pyproject.toml"
        else:
            raise SourceError("say which settings: FILE.toml, module:attribute or a module")
    if source.endswith(".toml") or Path(source).is_file():
        try:
            return source, read_toml(source)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SourceError(f"{source}: {exc}") from None
    module_name, _, attribute = source.partition(":")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # whatever importing the user's module raises
        raise SourceError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    if attribute:
        if not hasattr(module, attribute):
            raise SourceError(f"module {module_name!r} has no attribute {attribute!r}")
        return source, getattr(module, attribute)
    if not hasattr(module, "SEAWALL"):
        raise SourceError(f"module {module_name!r} has no SEAWALL setting")
    return source, module.SEAWALL


def validate(raw: object) -> list[SettingsError]:
    """Every error in the settings, in the order of the input: one parse that records each
    error and reads on with the default instead of stopping at the first (one error per key
    path, and none that only echoes another)."""
    if isinstance(raw, Settings):
        return []
    if not isinstance(raw, Mapping):
        return [
            SettingsError("(root)", f"expected a mapping or Settings, got {type(raw).__name__}")
        ]
    with collecting() as errors:
        Settings.from_mapping(raw)
    positions = _key_positions(raw)
    return sorted(errors, key=lambda error: _position(error.path, positions))


def _key_positions(raw: Mapping[Any, object]) -> dict[str, int]:
    """Each key path of the input (``routes."GET /a".timeout``, ``alerts.sinks[0]``) numbered
    in reading order; a mapping inside itself (a module's settings may be) is not reentered."""
    positions: dict[str, int] = {}
    inside: set[int] = set()

    def walk(path: str, value: object) -> None:
        if isinstance(value, Mapping):
            children = [(join_path(path, str(key)), item) for key, item in value.items()]
        elif isinstance(value, list | tuple):
            children = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
        else:
            return
        if id(value) in inside:
            return
        inside.add(id(value))
        for sub, item in children:
            positions.setdefault(sub, len(positions))
            walk(sub, item)
        inside.discard(id(value))

    walk("", raw)
    return positions


def _position(path: str, positions: Mapping[str, int]) -> int:
    """Where ``path`` is in the input: its own key, else its nearest enclosing one (a missing
    key is reported where its table starts); ``-1`` for the root."""
    cut = len(path)
    while cut > 0:
        found = positions.get(path[:cut])
        if found is not None:
            return found
        cut = max(path.rfind(".", 0, cut), path.rfind("[", 0, cut))
    return -1


def run(args: argparse.Namespace) -> int:
    try:
        name, raw = load_source(args.source)
    except SourceError as exc:
        print(f"seawall check: error: {exc}", file=sys.stderr)
        return 2
    problems = validate(raw)
    for problem in problems:
        print(f"{problem.path}: {str(problem).removeprefix(f'seawall setting {problem.path}: ')}")
    if problems:
        print(f"{name}: {len(problems)} error{'s' if len(problems) > 1 else ''}", file=sys.stderr)
        return 1
    print(f"{name}: ok")
    return 0
