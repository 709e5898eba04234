from __future__ import annotations

import pytest

from seawall.clock import FakeClock
from seawall.resilience.windows import CountWindow, TimeWindow


def totals(window: CountWindow | TimeWindow) -> tuple[int, int, int]:
    return window.calls, window.failures, window.slow


def test_count_window_counts_calls_failures_and_slow_calls() -> None:
    """Each record adds one call, flagged failed and/or slow."""
    window = CountWindow(5)
    window.record(failed=True, slow=False)
    window.record(failed=False, slow=True)
    window.record(failed=True, slow=True)
    assert totals(window) == (3, 2, 2)


def test_count_window_evicts_the_oldest_outcome_when_full() -> None:
    """The window holds the last ``size`` outcomes only."""
    window = CountWindow(2)
    window.record(failed=True, slow=True)
    window.record(failed=False, slow=False)
    window.record(failed=False, slow=False)
    assert totals(window) == (2, 0, 0)


def test_count_window_reset_forgets_everything() -> None:
    """reset() empties the window and starts the ring over."""
    window = CountWindow(3)
    for _ in range(4):
        window.record(failed=True, slow=True)
    window.reset()
    window.record(failed=False, slow=False)
    assert totals(window) == (1, 0, 0)


def test_time_window_keeps_outcomes_for_its_span() -> None:
    """An outcome stays in a 10 s window until its second leaves the last ten."""
    clock = FakeClock(100.0)
    window = TimeWindow(10, clock)
    window.record(failed=True, slow=False)
    clock.set(109.999)
    window.expire()
    assert totals(window) == (1, 1, 0)


def test_time_window_forgets_outcomes_older_than_its_span() -> None:
    """Ten seconds later the outcome's bucket is reused and its counts are gone."""
    clock = FakeClock(100.0)
    window = TimeWindow(10, clock)
    window.record(failed=True, slow=True)
    clock.set(110.0)
    window.expire()
    assert totals(window) == (0, 0, 0)


def test_time_window_expires_bucket_by_bucket() -> None:
    """Outcomes from different seconds leave one second at a time."""
    clock = FakeClock(0.0)
    window = TimeWindow(3, clock)
    for _ in range(3):
        window.record(failed=True, slow=False)
        clock.advance(1.0)
    window.expire()
    assert totals(window) == (2, 2, 0)


def test_time_window_clears_everything_after_a_long_gap() -> None:
    """A gap longer than the window clears every bucket (and only once per bucket)."""
    clock = FakeClock(0.0)
    window = TimeWindow(5, clock)
    for _ in range(5):
        window.record(failed=True, slow=False)
        clock.advance(1.0)
    clock.advance(10_000.0)
    window.record(failed=False, slow=False)
    assert totals(window) == (1, 0, 0)


@pytest.mark.parametrize("size", [0, -1])
def test_windows_refuse_an_empty_span(size: int) -> None:
    """A window must hold at least one call or one second."""
    with pytest.raises(ValueError, match="at least one"):
        CountWindow(size)
    with pytest.raises(ValueError, match="at least one"):
        TimeWindow(size, FakeClock())
