"""Route keys and the policy table: matching, specificity, template syntaxes, bounded state."""

from __future__ import annotations

import tracemalloc

import pytest

from seawall.config.routes import RouteTable, normalize_template, parse_route_key

TABLE = RouteTable(
    [
        ("GET /items/{id}", "get-item"),
        ("/items/{id}", "any-item"),
        ("GET /items/special", "special"),
        ("/admin/*", "admin"),
        ("POST /admin/users/*", "admin-users-post"),
        ("GET /files/{path:path}", "files"),
        ("reports/<int:year>/", "django-style"),
        ("GET /shop/<int:id>/reviews", "flask-style"),
    ],
    default="default",
)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/items/42", "get-item"),
        ("DELETE", "/items/42", "any-item"),
        ("GET", "/items/special", "special"),
        ("POST", "/items/special", "any-item"),
        ("GET", "/admin/a/b/c", "admin"),
        ("POST", "/admin/users/7", "admin-users-post"),
        ("GET", "/admin/users/7", "admin"),
        ("GET", "/files/a/b.txt", "files"),
        ("GET", "/reports/2024/", "django-style"),
        ("GET", "/reports/2024", "django-style"),
        ("GET", "/shop/9/reviews", "flask-style"),
        ("HEAD", "/items/1", "get-item"),
        ("GET", "/unknown", "default"),
        ("GET", "/items/1/extra", "default"),
    ],
)
def test_raw_paths_match_the_most_specific_key(method: str, path: str, expected: str) -> None:
    """Literals beat parameters, exact beats prefix, a method beats any method."""
    assert TABLE.match_path(method, path)[1] == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("/items/{id}", "get-item"),
        ("/items/<int:id>", "get-item"),
        ("items/<int:pk>/", "get-item"),
        ("/items/{id:int}", "get-item"),
        ("/admin/settings", "admin"),
        ("/nothing/{x}", "default"),
    ],
)
def test_framework_templates_match_in_any_syntax(template: str, expected: str) -> None:
    """Starlette, Flask and Django template spellings resolve to the same key."""
    assert TABLE.match_template("GET", template)[1] == expected


def test_matched_key_text_is_reported() -> None:
    """The key text, as written in settings, names the route in logs and breakers."""
    assert TABLE.match_path("GET", "/items/3")[0] == "GET /items/{id}"
    assert TABLE.match_path("GET", "/zzz")[0] is None


def test_templates_normalize() -> None:
    """Trailing slashes, converters and prefixes normalize to segments."""
    assert normalize_template("/a/<int:x>/") == (("a", "{}"), False)
    assert normalize_template("a/{x}/*") == (("a", "{}"), True)
    assert normalize_template("/files/{rest:path}") == (("files",), True)


@pytest.mark.parametrize("key", ["", "GET", "FETCH /x", "GET /a b", "/a/*/b", "/a{b}"])
def test_bad_keys_are_rejected(key: str) -> None:
    """Malformed keys raise ValueError with a reason."""
    with pytest.raises(ValueError, match=r"\S"):
        parse_route_key(key)


def test_distinct_urls_leave_memory_flat() -> None:
    """Matching raw paths keeps no per-URL state beyond a bounded cache, filled here first
    (the 1 M case runs in benchmarks/)."""
    table = RouteTable([("GET /items/{id}", 1)], default=0)
    for warm in range(5000):
        table.match_path("GET", f"/items/{warm}")
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for index in range(200_000):
        table.match_path("GET", f"/items/{index}")
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 64 * 1024


def _cached(table: RouteTable[str]) -> int:
    """Raw paths the table remembers, over every method."""
    count = sum(len(paths) for paths in table._path_cache.values())
    assert count == table._cached
    return count


def test_raw_path_cache_stays_bounded_and_correct() -> None:
    """Many distinct raw paths never grow the match cache past its bound, and every answer
    stays the one the compiled table gives, before and after the cache starts over."""
    table = RouteTable([("GET /items/{id}", "item"), ("/static/*", "static")], default="dflt")
    for n in range(5_000):
        assert table.match_path("GET", f"/items/{n}") == ("GET /items/{id}", "item")
        assert table.match_path("GET", f"/static/{n}/a.css") == ("/static/*", "static")
        assert table.match_path("GET", f"/other/{n}") == (None, "dflt")
        assert _cached(table) <= 2048
    assert table.match_path("POST", "/items/7") == (None, "dflt")
    for n in range(100):  # methods a client makes up are bounded per path as well
        method = "X" + chr(65 + n % 26) + chr(65 + n // 26)
        assert table.match_path(method, "/static/a.css") == ("/static/*", "static")
        assert table.match_path("GET", "/static/a.css") == ("/static/*", "static")
        assert _cached(table) <= 2048


def test_raw_path_cache_answers_by_method_and_path() -> None:
    """A remembered path answers for its own method only, and asking again reuses it."""
    table = RouteTable([("GET /items/{id}", "read"), ("POST /items/{id}", "write")], default="d")
    for _ in range(2):
        assert table.match_path("GET", "/items/7") == ("GET /items/{id}", "read")
        assert table.match_path("POST", "/items/7") == ("POST /items/{id}", "write")
        assert table.match_path("DELETE", "/items/7") == (None, "d")
        assert table.match_path("GET", "/items/8") == ("GET /items/{id}", "read")
        assert _cached(table) == 4
