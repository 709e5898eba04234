"""The settings validator: typed readers over one mapping, naming the key path in every error.

A :class:`Table` rejects unknown keys (suggesting the nearest known one) and reads each value as
the type asked for, so section parsers build their dataclasses without casts or asserts. Errors
raise at once; inside :func:`collecting` (``seawall check``) they are recorded instead and
parsing goes on with the defaults, so one run lists every error.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeAlias, TypeVar

from seawall.config.schema import SettingsError

__all__ = [
    "FRAMING_HEADERS",
    "HEADER_NAME",
    "Parsed",
    "Parser",
    "Table",
    "collecting",
    "header_value_problem",
    "import_string",
    "join_path",
    "or_empty",
    "report",
    "show",
]

T = TypeVar("T")
F = TypeVar("F")
C = TypeVar("C", bound=str)

HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name (a token of RFC 9110)."""

FRAMING_HEADERS = frozenset(
    {
        # Message framing and content (RFC 9110 section 8, RFC 9112 section 6).
        "content-length", "transfer-encoding", "content-type", "content-encoding",
        "content-range",
        # Hop-by-hop (RFC 9110 section 7.6.1) and routing.
        "connection", "keep-alive", "te", "trailer", "upgrade", "proxy-connection",
        "proxy-authenticate", "proxy-authorization", "host",
    }
)  # fmt: skip
"""Headers the server or the protocol writes: a setting that names one breaks every response."""

_HEADER_VALUE_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a header value (RFC 9110 section 5.5), or ``None``."""
    bad = _HEADER_VALUE_BAD.search(value)
    if bad is not None:
        return f"holds the control character {bad.group()!r} (CR, LF and NUL split or end headers)"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        return (
            f"holds {value[exc.start]!r}, which is not latin-1: HTTP header values are bytes;"
            " percent-encode it or use plain ASCII"
        )
    return None


_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_HOST_PATTERN = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")


def import_string(dotted: str) -> Any:
    """Import ``package.module.attr`` (or ``package.module:attr``) and return the attribute."""
    module_name, sep, attr = dotted.replace(":", ".").rpartition(".")
    if not sep or not module_name:
        raise ImportError(f"{dotted!r} is not a dotted path")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from None


_COLLECTED: ContextVar[list[SettingsError] | None] = ContextVar(
    "seawall.settings_errors", default=None
)
"""The errors of the parse in progress while :func:`collecting`; ``None``: raise the first."""


@contextmanager
def collecting() -> Iterator[list[SettingsError]]:
    """Record settings errors in the list it yields instead of raising the first, so parsing
    goes on with the defaults: ``seawall check`` shows every error in one run."""
    errors: list[SettingsError] = []
    token = _COLLECTED.set(errors)
    try:
        yield errors
    finally:
        _COLLECTED.reset(token)


def report(error: SettingsError, *, after: Iterable[str] = ()) -> None:
    """Raise ``error``; while collecting, record it and return, so parsing goes on. It is
    dropped when its path, or a path in ``after`` (the settings it follows from), already has
    an error: it would only echo that one.

    Section code calls it in ``except SettingsError`` around one entry (a route, a sink) so
    that, while collecting, the next entry is still read; a ``try`` costs nothing otherwise.
    """
    errors = _COLLECTED.get()
    if errors is None:
        raise error
    failed = {e.path for e in errors}
    if error.path not in failed and failed.isdisjoint(after):
        errors.append(error)


def join_path(path: str, key: str) -> str:
    """The key path of ``key`` under ``path`` (quoted when it is not a bare word)."""
    shown = key if _BARE_KEY.fullmatch(key) else json.dumps(key)
    return f"{path}.{shown}" if path else shown


def or_empty(value: object) -> object:
    """``None`` (an unset or empty TOML/YAML section) means an empty mapping; other values stay."""
    return {} if value is None else value


def show(value: object) -> str:
    """``value`` for an error message: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Table:
    """One mapping of settings: only the ``allowed`` keys, each read as the type asked for."""

    def __init__(self, path: str, data: object, allowed: Iterable[str]) -> None:
        self.path = path
        # Not a mapping (only while collecting): read as empty, its rules across keys unchecked.
        self.broken = False
        if not isinstance(data, Mapping):
            report(SettingsError(path or "(root)", f"expected a mapping, got {show(data)}"))
            self.broken = True
            data = {}
        self.data: Mapping[str, object] = data
        known = tuple(allowed)
        for key in data:
            if not isinstance(key, str) or key not in known:
                hint = difflib.get_close_matches(str(key), known, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                report(
                    SettingsError(
                        self.sub(str(key)),
                        f"unknown key {key!r}{suggestion} (known: {', '.join(known)})",
                    )
                )

    def sub(self, key: str) -> str:
        """The path of ``key`` in this table (quoted when it is not a bare word)."""
        return join_path(self.path, key)

    def error(self, key: str, message: str, *, after: Iterable[str] = ()) -> None:
        """Report what a section rule finds wrong with ``key``; while collecting, parsing goes
        on. ``after``: the keys the rule reads, whose own errors make it moot."""
        if not self.broken:
            report(SettingsError(self.sub(key), message), after=[self.sub(k) for k in after])

    def _bad(self, key: str, message: str, fallback: F) -> F:
        """Report ``key``'s value; while collecting, ``fallback`` (the default) stands in."""
        report(SettingsError(self.sub(key), message))
        return fallback

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, default: object = None) -> object:
        return self.data.get(key, default)

    def section(self, key: str, allowed: Iterable[str]) -> Table:
        """The mapping under ``key`` as a table of its own (unset or ``None``: empty)."""
        return Table(self.sub(key), or_empty(self.data.get(key)), allowed)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            return self._bad(key, f"expected true or false, got {show(value)}", default)
        return value

    def number(
        self,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        exclusive_min: bool = False,
        maximum: float | None = None,
    ) -> float:
        value = self.data.get(key, default)
        return self._number(key, value, default, minimum, exclusive_min, maximum)

    def optional_number(
        self,
        key: str,
        default: float | None,
        *,
        minimum: float | None = None,
        exclusive_min: bool = False,
        maximum: float | None = None,
    ) -> float | None:
        """A number, or ``None`` when unset (with no default) or set to ``None``."""
        value = self.data.get(key, default)
        if value is None:
            return None
        return self._number(key, value, default, minimum, exclusive_min, maximum)

    def integer(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        return self._integer(key, self.data.get(key, default), default, minimum, maximum)

    def optional_integer(
        self,
        key: str,
        default: int | None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        """A whole number, or ``None`` when unset (with no default) or set to ``None``."""
        value = self.data.get(key, default)
        if value is None:
            return None
        return self._integer(key, value, default, minimum, maximum)

    def choice(self, key: str, default: C, choices: tuple[C, ...]) -> C:
        """One of ``choices`` (a tuple of a ``Literal``'s values gives that ``Literal``)."""
        value = self.data.get(key, default)
        for option in choices:
            if value == option:
                return option
        return self._bad(
            key, f"{show(value)} is not one of {', '.join(map(repr, choices))}", default
        )

    def string(self, key: str, default: str) -> str:
        return self._string(key, self.data.get(key, default), default)

    def optional_string(self, key: str) -> str | None:
        """A non-empty string, or ``None`` when unset or set to ``None``."""
        value = self.data.get(key)
        return None if value is None else self._string(key, value, None)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, ())
        if isinstance(value, str) or not isinstance(value, Iterable):
            return self._bad(key, f"expected a list of strings, got {show(value)}", ())
        items = tuple(value)
        for item in items:
            if not isinstance(item, str) or not item:
                return self._bad(key, f"expected non-empty strings, got {show(item)}", ())
        return items

    def hosts(self, key: str) -> tuple[str, ...]:
        """Host names or ``*.suffix`` patterns (any subdomain), lower-cased; no scheme or port."""
        hosts = tuple(h.lower().rstrip(".") for h in self.strings(key))
        for host in hosts:
            if not _HOST_PATTERN.fullmatch(host):
                return self._bad(
                    key,
                    f"{show(host)} is not a host name or a '*.example.com' pattern"
                    " (no scheme, port or path)",
                    (),
                )
        return hosts

    def importable(self, key: str, value: object, *, want: str) -> object:
        """Resolve a dotted path (or accept the object itself) at start-up; ``None`` while
        collecting when it does not import."""
        if not isinstance(value, str):
            return value
        try:
            found: object = import_string(value)
        except ImportError as exc:
            return self._bad(key, f"cannot import {want} {value!r}: {exc}", None)
        return found

    def _number(
        self,
        key: str,
        value: object,
        fallback: F,
        minimum: float | None,
        exclusive_min: bool,
        maximum: float | None,
    ) -> float | F:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return self._bad(key, f"expected a number, got {show(value)}", fallback)
        if minimum is not None and (value < minimum or (exclusive_min and value == minimum)):
            bound = f"greater than {minimum}" if exclusive_min else f"at least {minimum}"
            return self._bad(key, f"{show(value)} is out of range: must be {bound}", fallback)
        if maximum is not None and value > maximum:
            return self._bad(
                key, f"{show(value)} is out of range: must be at most {maximum}", fallback
            )
        return float(value)

    def _integer(
        self, key: str, value: object, fallback: F, minimum: int | None, maximum: int | None
    ) -> int | F:
        if isinstance(value, bool) or not isinstance(value, int):
            return self._bad(key, f"expected a whole number, got {show(value)}", fallback)
        if minimum is not None and value < minimum:
            return self._bad(
                key, f"{show(value)} is out of range: must be at least {minimum}", fallback
            )
        if maximum is not None and value > maximum:
            return self._bad(
                key, f"{show(value)} is out of range: must be at most {maximum}", fallback
            )
        return value

    def _string(self, key: str, value: object, fallback: F) -> str | F:
        if not isinstance(value, str) or not value:
            return self._bad(key, f"expected a non-empty string, got {show(value)}", fallback)
        return value


class Parsed:
    """The sections parsed so far, for a section that builds on an earlier one (routes
    inherit from ``defaults``)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, name: str, kind: type[T]) -> T:
        value: object = self.values.get(name)
        if not isinstance(value, kind):
            raise LookupError(f"settings section {name!r} must come before those that read it")
        return value


Parser: TypeAlias = Callable[[str, object, Parsed], T]
"""A section's parser: its key path, its raw value (``{}`` when unset) and the sections parsed
before it; it returns the section's dataclass or raises :class:`SettingsError`."""
