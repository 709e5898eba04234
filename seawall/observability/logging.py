"""One logging set-up for structlog and stdlib: JSON or console lines, correlation id on each.

:func:`configure` wires both: structlog events and stdlib records go through the same
processor chain (correlation id, timestamp, exception text, then redaction last before
rendering). For users who keep their own set-up, :func:`add_correlation_id` and
:func:`redact_event` are structlog processors and :class:`CorrelationIdFilter` a stdlib filter.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from seawall.config.settings import Settings
from seawall.context.correlation import CORRELATION_ID
from seawall.observability.console import strip_ansi

__all__ = [
    "CorrelationIdFilter",
    "add_correlation_id",
    "configure",
    "get_logger",
    "redact_event",
    "redaction_processor",
]

FRAMEWORK_LOGGERS = (
    "uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn", "gunicorn.error",
    "gunicorn.access", "django", "django.server", "werkzeug",
)  # fmt: skip
"""Loggers whose own handlers :func:`configure` removes so their records reach ours."""

_HANDLER_MARK = "_seawall_handler"


def add_correlation_id(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: add ``correlation_id`` from the current request, if any."""
    if "correlation_id" not in event_dict:
        value = CORRELATION_ID.get()
        if value is not None:
            event_dict["correlation_id"] = value
    return event_dict


class CorrelationIdFilter(logging.Filter):
    """stdlib filter: set ``record.correlation_id`` (``"-"`` outside a request).

    Attach it to a handler, or to a ``QueueHandler`` so the id is taken in the logging
    thread, not in the listener's thread where no request is current.
    """

    def __init__(self, name: str = "", default: str = "-") -> None:
        super().__init__(name)
        self.default = default

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = CORRELATION_ID.get() or self.default
        return True


def _record_factory(base: Any) -> Any:
    """Wrap the record factory so every record carries the id current where it was created."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        record.correlation_id = CORRELATION_ID.get()
        return record

    factory._seawall = True  # type: ignore[attr-defined]
    return factory


def _record_fields(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """For stdlib records: logger name and the correlation id captured at creation."""
    record = event_dict.get("_record")
    if record is not None:
        event_dict.setdefault("logger", record.name)
        value = getattr(record, "correlation_id", None)
        if value not in (None, "-"):
            event_dict.setdefault("correlation_id", value)
    return event_dict


def redaction_processor(settings: Settings | Mapping[str, Any] | None = None) -> Processor:
    """A structlog processor that redacts every key and value of each event (tracebacks
    rendered by ``format_exc_info`` included), with the ``redaction`` settings given.

    Put it last before the renderer:

    >>> structlog.configure(processors=[..., structlog.processors.format_exc_info,
    ...     seawall.logging.redaction_processor({"redaction": {"keys": ["pin"]}}),
    ...     structlog.processors.JSONRenderer()])
    """
    from seawall.observability.redaction import RedactingProcessor, Redactor

    return RedactingProcessor(Redactor.from_settings(Settings.coerce(settings).redaction))


_default_redaction: list[Processor] = []


def redact_event(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> Any:
    """structlog processor: redact the event with the default redaction settings; put it last
    before the renderer (:func:`redaction_processor` takes settings)."""
    if not _default_redaction:
        _default_redaction.append(redaction_processor())
    return _default_redaction[0](logger, method_name, event_dict)


def chain_redacts() -> bool:
    """True when the structlog configuration, or a stdlib handler's structlog formatter,
    includes seawall's redacting processor."""
    from seawall.observability.redaction import RedactingProcessor

    def redacts(processors: Iterable[object]) -> bool:
        return any(p is redact_event or isinstance(p, RedactingProcessor) for p in processors)

    if redacts(structlog.get_config().get("processors", ())):
        return True
    loggers = [logging.getLogger(), logging.getLogger("seawall")]
    handlers = [h for lg in loggers for h in lg.handlers]
    return any(
        isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
        and redacts(getattr(h.formatter, "processors", ()))
        for h in handlers
    )


def configure(
    settings: Settings | Mapping[str, Any] | None = None,
    *,
    format: Literal["auto", "json", "console"] | None = None,
    level: str | int | None = None,
    stream: TextIO | None = None,
    take_over: Iterable[str] = FRAMEWORK_LOGGERS,
) -> None:
    """Configure structlog and the stdlib root logger to write redacted lines to ``stream``.

    ``format`` defaults to the ``logging.format`` setting: JSON lines, or a readable console
    renderer when ``auto`` and ``stream`` is a terminal. Calling it again replaces the set-up.
    """
    parsed = Settings.coerce(settings)
    out = stream or sys.stderr
    chosen = format or parsed.logging.format
    if chosen == "auto":
        chosen = "console" if _is_terminal(out) else "json"
    level_no = (
        logging.getLevelName(level or parsed.logging.level) if not isinstance(level, int) else level
    )

    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    redact = redaction_processor(parsed)
    tail: list[Processor] = [
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    if chosen == "json":
        tail += [redact, structlog.processors.JSONRenderer()]
    else:
        from seawall.observability.console import ConsoleTraceback, split_lines
        from seawall.observability.redaction import Redactor

        # Colours only for terminals (and never with NO_COLOR set), whatever format asked for.
        colors = _is_terminal(out) and not os.environ.get("NO_COLOR")
        tail += [
            split_lines,
            redact,
            ConsoleTraceback(Redactor.from_settings(parsed.redaction).text),
            structlog.dev.ConsoleRenderer(
                colors=colors, exception_formatter=structlog.dev.plain_traceback
            ),
        ]

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            add_correlation_id,
            *tail,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            timestamper,
            _record_fields,
            strip_ansi,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_no)
    for name in take_over:
        framework_logger = logging.getLogger(name)
        framework_logger.handlers.clear()
        framework_logger.propagate = True
    if not getattr(logging.getLogRecordFactory(), "_seawall", False):
        logging.setLogRecordFactory(_record_factory(logging.getLogRecordFactory()))


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def get_logger(name: str = "seawall", **initial: Any) -> Any:
    """A structlog logger (``structlog.get_logger`` with a name field)."""
    return structlog.get_logger(name, logger=name, **initial)
