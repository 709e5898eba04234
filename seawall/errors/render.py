"""Problem bodies: ``application/problem+json`` or a small HTML page, chosen by ``Accept``."""

from __future__ import annotations

import html
import json
from typing import Literal

from seawall.errors.problems import Problem

__all__ = ["negotiate", "render_html", "render_json", "response_headers"]

Media = Literal["json", "html"]
_JSON_TYPES = ("application/problem+json", "application/json", "application/*", "*/*")


def negotiate(accept: str | None, format: str = "auto") -> Media:
    """``html`` only for clients that rank ``text/html`` above every JSON type (browsers)."""
    if format == "json" or not accept or "html" not in accept:
        return "json"
    best_html = 0.0
    best_json = 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
        elif media in _JSON_TYPES[:3]:
            best_json = max(best_json, quality)
    return "html" if best_html > best_json else "json"


def render_json(problem: Problem) -> bytes:
    """RFC 9457 members first, in a stable order, then the extension members."""
    body: dict[str, object] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
    }
    if problem.detail is not None:
        body["detail"] = problem.detail
    if problem.instance is not None:
        body["instance"] = problem.instance
    body.update(problem.extensions)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def render_html(problem: Problem) -> bytes:
    """A small page with title, status, detail and ids: nothing internal, everything escaped."""
    ids = "".join(
        f"<dt>{html.escape(name.replace('_', ' '))}</dt>"
        f"<dd><code>{html.escape(str(value))}</code></dd>"
        for name in ("correlation_id", "error_id")
        if (value := problem.extensions.get(name))
    )
    detail = f"<p>{html.escape(problem.detail)}</p>" if problem.detail else ""
    title = html.escape(problem.title)
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        f"<title>{problem.status} {title}</title>"
        f"<h1>{problem.status} {title}</h1>{detail}<dl>{ids}</dl></html>"
    )
    return page.encode()


def response_headers(problem: Problem, media: Media, length: int) -> list[tuple[str, str]]:
    """The headers of a rendered problem: lower-case names, text values."""
    content_type = "application/problem+json" if media == "json" else "text/html; charset=utf-8"
    headers = [("content-type", content_type), ("content-length", str(length))]
    headers += [(name.lower(), value) for name, value in problem.headers.items()]
    return headers
