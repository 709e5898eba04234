"""The settings validator: each reader returns the type it promises or names the bad key."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from seawall.config.parse import Table, collecting, report
from seawall.config.schema import INCOMING, SettingsError


def table(**data: object) -> Table:
    return Table("section", data, data)


def refused(read: Callable[[], object]) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        read()
    return info.value


def test_numbers_come_back_as_floats() -> None:
    """A whole number given for a number setting is read as a float."""
    value = table(n=2).number("n", 1.0)
    assert value == 2.0
    assert type(value) is float
    assert table().number("n", 1.5) == 1.5


@pytest.mark.parametrize("value", [True, "1", float("nan"), float("inf"), None])
def test_numbers_refuse_booleans_text_and_non_finite_values(value: object) -> None:
    """``True`` is not 1 and NaN is not a timeout: each is refused, naming the key."""
    assert refused(lambda: table(n=value).number("n", 1.0)).path == "section.n"


def test_whole_numbers_refuse_fractions_and_booleans() -> None:
    """An integer setting takes ints only, within its bounds."""
    assert table(n=3).integer("n", 1, minimum=1, maximum=3) == 3
    for value in (2.0, False):
        reading = functools.partial(table(n=value).integer, "n", 1)
        assert "expected a whole number" in str(refused(reading))
    assert "at most 3" in str(refused(lambda: table(n=4).integer("n", 1, maximum=3)))


def test_optional_readers_give_none_for_unset_or_none() -> None:
    """Optional numbers, integers and strings are ``None`` when unset or set to ``None``."""
    assert table(n=None).optional_number("n", 2.0) is None
    assert table().optional_number("n", None) is None
    assert table().optional_integer("n", 4) == 4
    assert table(n=None).optional_integer("n", 4) is None
    assert table(s=None).optional_string("s") is None
    assert "non-empty string" in str(refused(lambda: table(s="").optional_string("s")))


def test_choice_returns_the_option_or_lists_them() -> None:
    """A choice is one of the options given (the values of a ``Literal``), else refused."""
    assert table(c="reject").choice("c", "accept", INCOMING) == "reject"
    assert table().choice("c", "accept", INCOMING) == "accept"
    err = refused(lambda: table(c="maybe").choice("c", "accept", INCOMING))
    assert str(err).endswith("'maybe' is not one of 'accept', 'reject', 'ignore'")


def test_unknown_keys_are_refused_with_the_nearest_known_one() -> None:
    """Every key must be allowed; a near miss gets a suggestion."""
    with pytest.raises(SettingsError) as info:
        Table("policy", {"timout": 1}, ("timeout", "breaker"))
    assert info.value.path == "policy.timout"
    assert "did you mean 'timeout'?" in str(info.value)


def test_collecting_a_table_records_every_unknown_key() -> None:
    """While collecting, each unknown key is recorded, not only the first, and reading goes on."""
    with collecting() as errors:
        s = Table("policy", {"timout": 1, "timeout": 2, "brekaer": {}}, ("timeout", "breaker"))
        assert s.number("timeout", 1.0) == 2.0
    assert [e.path for e in errors] == ["policy.timout", "policy.brekaer"]


def test_collecting_readers_record_the_error_and_give_the_default() -> None:
    """Each reader, given a bad value while collecting, records it and returns its default."""
    bad = table(n="x", i=0.5, f="yes", c="maybe", s=3, l="a", h=["http://x"], o=1, m=-1)
    with collecting() as errors:
        assert bad.number("n", 1.5) == 1.5
        assert bad.optional_number("m", None, minimum=0) is None
        assert bad.integer("i", 3) == 3
        assert bad.optional_integer("m", 2, minimum=0) == 2
        assert bad.flag("f", True) is True
        assert bad.choice("c", "accept", INCOMING) == "accept"
        assert bad.string("s", "d") == "d"
        assert bad.optional_string("o") is None
        assert bad.strings("l") == ()
        assert bad.hosts("h") == ()
        assert bad.importable("o", "no.such.module.thing", want="thing") is None
    paths = [e.path.removeprefix("section.") for e in errors]
    assert paths == ["n", "m", "i", "f", "c", "s", "o", "l", "h"]  # one error per key path


def test_collecting_reads_a_table_that_is_no_mapping_as_empty() -> None:
    """A value where a table belongs is one error; its keys read as defaults, and its rules
    (a required key) stay silent: they would only echo it."""
    with collecting() as errors:
        s = Table("retry", 5, ("attempts",))
        assert s.integer("attempts", 3) == 3
        s.error("attempts", "is required")
    assert [(e.path, str(e)) for e in errors] == [
        ("retry", "seawall setting retry: expected a mapping, got 5")
    ]


def test_report_raises_unless_collecting_and_drops_echoes() -> None:
    """Outside ``collecting`` a report raises it; inside, an error whose path or whose
    ``after`` paths already failed is dropped."""
    error = SettingsError("a.b", "bad")
    assert refused(lambda: report(error)) is error
    with collecting() as errors:
        report(error)
        report(SettingsError("a.b", "bad again"))
        report(SettingsError("a.c", "follows from a.b"), after=["a.b"])
        report(SettingsError("a.d", "stands alone"), after=["a.x"])
    assert [str(e) for e in errors] == [
        "seawall setting a.b: bad",
        "seawall setting a.d: stands alone",
    ]
