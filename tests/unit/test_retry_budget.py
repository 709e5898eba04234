"""Backoff with jitter and Retry-After, the retry budget, and the retry storm it bounds."""

from __future__ import annotations

import threading

import pytest

import seawall
from seawall.clock import FakeClock
from seawall.config.schema import BudgetSettings, RetrySettings
from seawall.resilience.budget import RetryBudget
from seawall.resilience.retry import Backoff


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    """``backoff * 2**(n-1)``, capped at ``max_backoff``."""
    backoff = Backoff(RetrySettings(attempts=9, backoff=0.1, max_backoff=0.5, jitter="none"))
    waits = [backoff.delay(n, None, lambda: 0.0) for n in range(1, 6)]
    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_full_jitter_draws_below_the_wait_and_equal_jitter_above_half() -> None:
    """Full jitter spans [0, wait); equal jitter [wait/2, wait)."""
    full = Backoff(RetrySettings(attempts=3, backoff=1.0, max_backoff=8.0, jitter="full"))
    equal = Backoff(RetrySettings(attempts=3, backoff=1.0, max_backoff=8.0, jitter="equal"))
    assert full.delay(3, None, lambda: 0.25) == pytest.approx(1.0)
    assert equal.delay(3, None, lambda: 0.0) == pytest.approx(2.0)


def test_retry_after_replaces_the_wait_but_not_the_cap() -> None:
    """A server's Retry-After is obeyed, up to ``max_backoff``."""
    backoff = Backoff(RetrySettings(attempts=3, backoff=0.1, max_backoff=2.0))
    assert backoff.delay(1, 1.5, lambda: 0.0) == 1.5
    assert backoff.delay(1, 30.0, lambda: 0.0) == 2.0


def test_only_listed_classifications_are_retried_while_attempts_remain() -> None:
    """``on`` and ``attempts`` decide whether a failure may be retried at all."""
    backoff = Backoff(RetrySettings(attempts=3, on=frozenset({"transient"})))
    assert backoff.retries("transient", 1)
    assert backoff.retries("transient", 2)
    assert not backoff.retries("transient", 3)
    assert not backoff.retries("validation", 1)


def test_a_wait_that_ends_past_the_deadline_does_not_fit() -> None:
    """No retry starts when its backoff would end at or past the deadline."""
    assert Backoff.fits(0.1, None)
    assert Backoff.fits(0.1, 0.2)
    assert not Backoff.fits(0.2, 0.2)
    assert not Backoff.fits(0.3, 0.2)


def test_budget_allows_ratio_of_calls() -> None:
    """With no floor, 100 calls fund exactly 10 retries at ratio 0.1."""
    budget = RetryBudget(BudgetSettings(ratio=0.1, min_per_second=0), clock=FakeClock(5.0))
    for _ in range(100):
        budget.deposit()
    granted = sum(budget.withdraw() for _ in range(50))
    assert granted == 10


def test_budget_deposits_expire_after_the_window() -> None:
    """A quiet spell cannot fund a storm later: deposits older than the window are gone."""
    clock = FakeClock(0.0)
    budget = RetryBudget(BudgetSettings(ratio=0.5, min_per_second=0), clock=clock, window=10)
    for _ in range(100):
        budget.deposit()
    assert budget.available == pytest.approx(50)
    clock.advance(5)
    budget.deposit()
    assert budget.available == pytest.approx(50.5)
    clock.advance(6)  # the first hundred left the window, the last one is still in
    assert budget.available == pytest.approx(0.5)
    clock.advance(60)
    assert budget.available == 0


def test_budget_floor_grants_min_per_second_and_starts_empty() -> None:
    """The floor refills at ``min_per_second`` and holds one second's worth at most."""
    clock = FakeClock(0.0)
    budget = RetryBudget(BudgetSettings(ratio=0.0, min_per_second=4), clock=clock)
    assert not budget.withdraw()  # empty at start: the bound holds from the first instant
    clock.advance(0.5)
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]
    clock.advance(100)  # a long quiet spell still leaves one second's worth
    assert sum(budget.withdraw() for _ in range(10)) == 4


def test_budget_is_exact_under_many_threads() -> None:
    """Eight threads racing for retries never take more than the ratio allows."""
    budget = RetryBudget(BudgetSettings(ratio=0.25, min_per_second=0), clock=FakeClock(1.0))
    granted: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        mine = 0
        for _ in range(1000):
            budget.deposit()
            mine += budget.withdraw()
        granted.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(granted) == 2000  # every 4th deposit funds one


def test_a_budget_made_a_moment_ago_has_nothing_yet() -> None:
    """The bound holds from the first instant: no retry before a call or the floor funds one."""
    clock = FakeClock(7.0)
    budget = RetryBudget(BudgetSettings(ratio=0.1, min_per_second=5), clock=clock)
    budget.deposit()
    assert not budget.withdraw()
    clock.advance(0.2)
    assert budget.withdraw()


def test_budget_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window"):
        RetryBudget(BudgetSettings(), window=0)


@pytest.mark.parametrize("per_second", [10_000, 10])
def test_retry_storm_attempts_stay_within_the_budget(per_second: int) -> None:
    """10,000 calls that always fail transiently, 3 attempts, ratio 0.1: attempts stay
    <= 1.1 x calls + min_per_second x elapsed (tenacity and stamina would make 30,000)."""
    clock = FakeClock(100.0)
    deps = seawall.Dependencies(
        {"dependencies": {"dead": {"retry": {"attempts": 3, "backoff": 0.0,
                                             "budget": {"ratio": 0.1, "min_per_second": 5}}}}},
        clock=clock, sleep=clock.advance, activate=False,
    )  # fmt: skip
    attempts = 0

    def fail() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("the dependency is down")

    start = clock()
    for _ in range(10_000):
        clock.advance(1.0 / per_second)
        with pytest.raises(ConnectionError):
            deps["dead"].call(fail)
    elapsed = clock() - start
    assert attempts <= 1.1 * 10_000 + 5 * elapsed
    assert attempts > 10_000  # the budget does let some retries through


def test_deposits_from_many_threads_are_all_counted() -> None:
    """Eight threads depositing at once: every call is counted (no lost update)."""
    clock = FakeClock(1000.0)
    budget = RetryBudget(BudgetSettings(ratio=0.5, min_per_second=0), clock=clock)
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(5000):
            budget.deposit()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.available == 0.5 * 40_000


def test_lock_free_deposits_expire_with_the_second_they_were_made_in() -> None:
    """Deposits counted without the lock are folded into their own second's bucket, so they
    leave the window ten seconds after they were made, not after the fold."""
    clock = FakeClock(1000.2)
    budget = RetryBudget(BudgetSettings(ratio=0.5, min_per_second=0), clock=clock)
    for _ in range(10):
        budget.deposit()
    clock.advance(5.0)  # 1005.2: the fold happens now, into 1000's bucket
    assert budget.available == 5.0
    budget.deposit()  # one in 1005
    clock.advance(5.0)  # 1010.2: 1000's bucket leaves the window, 1005's stays
    assert budget.available == 0.5
