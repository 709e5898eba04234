"""Per-request deadlines: a contextvar that nests to the earliest deadline."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from seawall.clock import FakeClock
from seawall.deadline import (
    Deadline,
    check_deadline,
    current_deadline,
    deadline_scope,
    expired,
    remaining,
)
from seawall.errors.exceptions import DeadlineExceededError


def test_no_deadline_outside_a_scope() -> None:
    """Outside any scope remaining() is None and nothing has expired."""
    assert remaining() is None
    assert current_deadline() is None
    assert not expired()
    check_deadline("GET /r")


def test_remaining_counts_down_on_the_clock() -> None:
    """remaining() is the scope's seconds minus the time passed."""
    clock = FakeClock(100.0)
    with deadline_scope(2.0, clock=clock):
        assert remaining() == 2.0
        clock.advance(0.5)
        assert remaining() == 1.5


def test_remaining_is_zero_once_the_deadline_passed() -> None:
    """remaining() never goes negative; expired() turns True at the deadline."""
    clock = FakeClock()
    with deadline_scope(1.0, clock=clock):
        clock.advance(1.0)
        assert expired()
        clock.advance(5.0)
        assert remaining() == 0.0


def test_inner_scope_shortens_the_deadline() -> None:
    """A nested scope with less time sets the sooner deadline."""
    clock = FakeClock()
    with deadline_scope(5.0, clock=clock), deadline_scope(1.0, clock=clock):
        assert remaining() == 1.0


def test_inner_scope_cannot_extend_the_deadline() -> None:
    """A nested scope with more time keeps the outer deadline."""
    clock = FakeClock()
    with deadline_scope(2.0, clock=clock) as outer:
        clock.advance(1.0)
        with deadline_scope(5.0, clock=clock) as inner:
            assert inner is outer
            assert remaining() == 1.0


def test_leaving_a_scope_restores_the_outer_deadline() -> None:
    """On exit the previous deadline (or none) is back."""
    clock = FakeClock()
    with deadline_scope(5.0, clock=clock) as outer:
        with deadline_scope(1.0, clock=clock):
            pass
        assert current_deadline() is outer
    assert current_deadline() is None


def test_none_adds_no_deadline() -> None:
    """deadline_scope(None) leaves the current deadline, or its absence, as it is."""
    clock = FakeClock()
    with deadline_scope(None) as nothing:
        assert nothing is None
        assert remaining() is None
    with deadline_scope(3.0, clock=clock) as outer, deadline_scope(None) as same:
        assert same is outer


def test_check_deadline_raises_once_the_deadline_passed() -> None:
    """check_deadline raises DeadlineExceededError (503) naming the route."""
    clock = FakeClock()
    with deadline_scope(1.0, clock=clock):
        check_deadline("GET /r")
        clock.advance(1.0)
        with pytest.raises(DeadlineExceededError) as info:
            check_deadline("GET /r")
    assert info.value.route == "GET /r"
    assert info.value.status == 503


def test_deadline_after_uses_the_given_clock() -> None:
    """Deadline.after(seconds, clock) is that far ahead on that clock."""
    clock = FakeClock(10.0)
    deadline = Deadline.after(3.0, clock)
    assert deadline.at == 13.0
    assert deadline.remaining() == 3.0


def test_deadline_belongs_to_its_context() -> None:
    """A deadline set in one context is invisible to a context copied before it."""
    before = contextvars.copy_context()
    with deadline_scope(1.0):
        assert before.run(remaining) is None
        assert contextvars.copy_context().run(remaining) is not None


def test_concurrent_tasks_keep_their_own_deadlines() -> None:
    """Each asyncio task sees the deadline of its own scope."""
    clock = FakeClock()

    async def request(seconds: float) -> float | None:
        with deadline_scope(seconds, clock=clock):
            await asyncio.sleep(0)
            return remaining()

    async def scenario() -> list[float | None]:
        return list(await asyncio.gather(request(1.0), request(2.0)))

    assert asyncio.run(scenario()) == [1.0, 2.0]


def test_scope_may_be_exited_in_a_later_call() -> None:
    """Entering and exiting separately (a WSGI body closed later) restores the deadline."""
    scope = deadline_scope(1.0, clock=FakeClock())
    scope.__enter__()
    assert remaining() == 1.0
    scope.__exit__(None, None, None)
    assert remaining() is None
