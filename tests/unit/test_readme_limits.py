"""Limits users must know before they deploy, stated where they read: the README."""

from __future__ import annotations

from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def paragraph(start: str) -> str:
    """The README paragraph that begins with ``start``."""
    index = README.index(start)
    end = README.find("\n\n", index)
    return " ".join(README[index : end if end != -1 else None].split())


def test_readme_says_breakers_and_bulkheads_live_per_worker() -> None:
    """Under several workers each counts on its own: the README says so, with the effect."""
    text = paragraph("**Breakers and bulkheads live in each worker process.**")
    assert "gunicorn -w 2" in text
    assert "minimum_calls: 4" in text
    assert "about twice as long as configured" in text
    assert "max_concurrency: 8" in text


def test_readme_says_async_views_under_wsgi_ignore_deadline_timeouts() -> None:
    """Async views under WSGI are not cut in deadline mode: the README says so and what helps."""
    text = paragraph("* **Async views under WSGI**")
    assert "a 1 s timeout answers 200 after 3 s" in text
    assert 'timeout_mode: "thread"' in text
    assert "async_view_timeout_not_enforced" in text
