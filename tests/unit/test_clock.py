from __future__ import annotations

import time

import pytest

from seawall.clock import FakeClock, monotonic


def test_default_clock_is_time_monotonic() -> None:
    """The default clock is the process's monotonic clock."""
    assert monotonic is time.monotonic


def test_fake_clock_stands_still_until_advanced() -> None:
    """A fake clock reads the same until a test moves it."""
    clock = FakeClock(5.0)
    assert clock() == clock() == 5.0


def test_fake_clock_advance_returns_new_time() -> None:
    """advance() moves forward by the given seconds and returns the new reading."""
    clock = FakeClock()
    assert clock.advance(1.5) == 1.5
    assert clock() == 1.5


def test_fake_clock_set_jumps_forward() -> None:
    """set() jumps to an absolute time."""
    clock = FakeClock(1.0)
    clock.set(42.0)
    assert clock() == 42.0


@pytest.mark.parametrize("move", [lambda c: c.advance(-0.1), lambda c: c.set(0.5)])
def test_fake_clock_never_goes_back(move: object) -> None:
    """A monotonic clock refuses to go backwards."""
    clock = FakeClock(1.0)
    with pytest.raises(ValueError, match="cannot go back"):
        move(clock)  # type: ignore[operator]
    assert clock() == 1.0
