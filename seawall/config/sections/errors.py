"""The ``errors`` section: exception classes mapped to problems, debug details, format."""

from __future__ import annotations

from collections.abc import Mapping

from seawall.config.parse import (
    FRAMING_HEADERS,
    HEADER_NAME,
    Parsed,
    Table,
    header_value_problem,
    or_empty,
    report,
    show,
)
from seawall.config.schema import (
    CLASSIFICATIONS,
    ERRORS_FORMATS,
    CorrelationSettings,
    ErrorMapping,
    ErrorsSettings,
    SettingsError,
)

__all__ = ["parse_errors"]

KEYS = ("map", "debug", "format", "log_client_errors", "traceback_frames")
MAPPING_KEYS = ("status", "title", "type", "detail", "classification", "headers")


def parse_errors(path: str, raw: object, earlier: Parsed) -> ErrorsSettings:
    s = Table(path, raw, KEYS)
    default = ErrorsSettings()
    correlation = earlier.values.get("correlation")
    if not isinstance(correlation, CorrelationSettings):
        correlation = CorrelationSettings()
    id_headers = {h.lower() for h in (*correlation.headers, correlation.response_header)}
    mapping = _map(s, id_headers)
    frames = s.integer("traceback_frames", default.traceback_frames, minimum=0, maximum=500)
    return ErrorsSettings(
        map=mapping,
        debug=s.flag("debug", default.debug),
        format=s.choice("format", default.format, ERRORS_FORMATS),
        log_client_errors=s.flag("log_client_errors", default.log_client_errors),
        traceback_frames=frames,
    )


def _map(s: Table, id_headers: set[str]) -> dict[type[BaseException], ErrorMapping]:
    """``map``: dotted exception class (or the class itself) to its problem."""
    raw = or_empty(s.get("map"))
    if not isinstance(raw, Mapping):
        s.error("map", f"expected a mapping, got {show(raw)}")
        return {}
    classes = Table(s.sub("map"), raw, [k for k in raw if isinstance(k, str)])
    mapping: dict[type[BaseException], ErrorMapping] = {}
    for key, spec in raw.items():
        if not isinstance(key, str):
            continue  # reported as an unknown key by the table
        exc_type = classes.importable(key, key, want="exception class")
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            classes.error(key, f"{show(key)} is not an exception class")
            exc_type = None
        entry = Table(classes.sub(key), spec, MAPPING_KEYS)
        problem = _error_mapping(entry, id_headers)
        if exc_type is not None:
            mapping[exc_type] = problem
    return mapping


def _error_mapping(s: Table, id_headers: set[str]) -> ErrorMapping:
    status = s.optional_integer("status", None, minimum=400, maximum=599)
    if status is None:
        s.error("status", "is required (an HTTP status from 400 to 599)")
        status = 500  # read on while collecting: the other keys' errors
    classification = s.get("classification")
    if classification is not None and (
        not isinstance(classification, str) or classification not in CLASSIFICATIONS
    ):
        s.error(
            "classification", f"{show(classification)} is not one of {', '.join(CLASSIFICATIONS)}"
        )
        classification = None
    headers = or_empty(s.get("headers"))
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and HEADER_NAME.fullmatch(k) and isinstance(v, str)
        for k, v in headers.items()
    ):
        s.error("headers", f"expected header names to strings, got {show(headers)}")
        headers = {}
    for name, value in headers.items():
        where = f"{s.sub('headers')}.{name}"
        if name.lower() in FRAMING_HEADERS:
            report(SettingsError(where, "is set by the server for every response, not here"))
        elif name.lower() in id_headers:
            report(
                SettingsError(
                    where,
                    "is the correlation id header: every response carries the request's id"
                    " there, so this value would never be sent",
                )
            )
        elif (problem := header_value_problem(value)) is not None:
            report(SettingsError(where, f"{show(value)} {problem}"))
    return ErrorMapping(
        status=status,
        title=s.optional_string("title"),
        type=s.string("type", "about:blank"),
        detail=s.optional_string("detail"),
        classification=classification,
        headers=dict(headers),
    )
