"""The breaker's state machine, driven by a fake clock: it never sleeps."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from seawall.clock import FakeClock
from seawall.config.schema import BreakerSettings
from seawall.errors.exceptions import CircuitOpenError
from seawall.resilience.breaker import BreakerEvent, CircuitBreaker, State

OPEN_FOR = 10.0


def make(clock: FakeClock | None = None, **overrides: Any) -> CircuitBreaker:
    options: dict[str, Any] = {
        "window_type": "count",
        "window": 10,
        "minimum_calls": 4,
        "failure_rate": 0.5,
        "open_for": OPEN_FOR,
        "max_open_for": 300.0,
        "jitter": 0.0,
        "half_open_calls": 2,
    }
    random = overrides.pop("random", None)
    probe_timeout = overrides.pop("probe_timeout", None)
    options.update(overrides)
    return CircuitBreaker(
        "GET /things",
        BreakerSettings(**options),
        clock=clock or FakeClock(),
        random=random,
        probe_timeout=probe_timeout,
    )


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.acquire().failure()


def succeed(breaker: CircuitBreaker, times: int = 1, duration: float | None = None) -> None:
    for _ in range(times):
        breaker.acquire().success(duration)


def trip(breaker: CircuitBreaker) -> None:
    while breaker.state is State.CLOSED:
        fail(breaker)


def to_half_open(breaker: CircuitBreaker, clock: FakeClock) -> None:
    if breaker.state is State.CLOSED:
        trip(breaker)
    open_until = breaker.snapshot().open_until
    assert open_until is not None
    clock.set(open_until)
    assert breaker.state is State.HALF_OPEN


def listen(breaker: CircuitBreaker) -> list[BreakerEvent]:
    events: list[BreakerEvent] = []
    breaker.add_listener(events.append)
    return events


# -- closed: when to trip ---------------------------------------------------------------


def test_new_breaker_is_closed_and_admits_calls() -> None:
    """A fresh breaker in enforce mode is closed and hands out permits."""
    breaker = make()
    assert breaker.state is State.CLOSED
    assert breaker.try_acquire() is not None


def test_trips_when_failure_rate_equals_threshold_exactly() -> None:
    """3 failures in 10 calls trips a 0.3 threshold: the comparison is >=, without float drift."""
    breaker = make(failure_rate=0.3, minimum_calls=10)
    succeed(breaker, 7)
    fail(breaker, 2)
    assert breaker.snapshot().state is State.CLOSED
    fail(breaker)
    assert breaker.state is State.OPEN


def test_stays_closed_just_below_threshold() -> None:
    """2 failures in 10 calls stay under a 0.3 threshold."""
    breaker = make(failure_rate=0.3, minimum_calls=10)
    fail(breaker, 2)
    succeed(breaker, 8)
    assert breaker.state is State.CLOSED


def test_does_not_trip_before_minimum_calls() -> None:
    """Failures below minimum_calls never trip, whatever the rate."""
    breaker = make(minimum_calls=5)
    fail(breaker, 4)
    assert breaker.state is State.CLOSED


def test_a_success_that_reaches_minimum_calls_can_trip() -> None:
    """The rate is checked on every outcome, so 3 failures then 1 success trips at 4 calls."""
    breaker = make(minimum_calls=4, failure_rate=0.75)
    fail(breaker, 3)
    succeed(breaker)
    assert breaker.state is State.OPEN


def test_count_window_evicts_old_failures() -> None:
    """Only the last ``window`` calls count: old failures pushed out no longer trip."""
    breaker = make(window=4, minimum_calls=4, failure_rate=0.5)
    fail(breaker)
    succeed(breaker, 3)
    succeed(breaker)  # evicts the failure
    fail(breaker)
    assert breaker.snapshot().failures == 1
    assert breaker.state is State.CLOSED


def test_time_window_forgets_failures_after_window_seconds() -> None:
    """Failures older than the time window do not count towards the rate."""
    clock = FakeClock()
    breaker = make(clock, window_type="time", window=30, minimum_calls=4)
    fail(breaker, 3)
    clock.advance(30.0)
    fail(breaker)
    assert breaker.snapshot().calls == 1
    assert breaker.state is State.CLOSED


def test_time_window_counts_failures_within_window_seconds() -> None:
    """Failures spread over less than the window add up and trip."""
    clock = FakeClock()
    breaker = make(clock, window_type="time", window=30, minimum_calls=4)
    fail(breaker, 3)
    clock.advance(29.9)
    fail(breaker)
    assert breaker.state is State.OPEN


def test_consecutive_failures_trip_before_minimum_calls() -> None:
    """N consecutive failures trip even when the window has too few calls for a rate."""
    breaker = make(minimum_calls=100, consecutive_failures=3)
    fail(breaker, 3)
    assert breaker.state is State.OPEN
    assert breaker.snapshot().consecutive_failures == 3


def test_a_success_resets_the_consecutive_count() -> None:
    """A success between failures restarts the consecutive count."""
    breaker = make(minimum_calls=100, consecutive_failures=3)
    fail(breaker, 2)
    succeed(breaker)
    fail(breaker, 2)
    assert breaker.state is State.CLOSED


def test_ignored_outcomes_keep_the_consecutive_count() -> None:
    """A 429 or cancellation between failures neither counts nor resets the streak."""
    breaker = make(minimum_calls=100, consecutive_failures=3)
    fail(breaker, 2)
    breaker.acquire().ignore()
    breaker.acquire().status(429)
    fail(breaker)
    assert breaker.state is State.OPEN


def test_slow_call_rate_trips() -> None:
    """Successful but slow calls trip once their rate reaches slow_call_rate."""
    breaker = make(slow_call_duration=2.0, slow_call_rate=0.5, minimum_calls=4)
    succeed(breaker, 2, duration=0.1)
    succeed(breaker, 2, duration=2.0)
    assert breaker.state is State.OPEN


def test_calls_faster_than_slow_duration_are_not_slow() -> None:
    """A call under slow_call_duration is not slow."""
    breaker = make(slow_call_duration=2.0, slow_call_rate=0.5, minimum_calls=4)
    succeed(breaker, 4, duration=1.999)
    assert breaker.snapshot().slow_calls == 0
    assert breaker.state is State.CLOSED


def test_calls_without_duration_are_never_slow() -> None:
    """A result reported without a duration cannot be judged slow."""
    breaker = make(slow_call_duration=0.001, slow_call_rate=0.5, minimum_calls=4)
    succeed(breaker, 4)
    assert breaker.state is State.CLOSED


# -- open ------------------------------------------------------------------------------


def test_open_breaker_raises_circuit_open_with_route_and_retry_after() -> None:
    """acquire() on an open breaker raises CircuitOpenError naming the route and Retry-After."""
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(2.5)
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.route == "GET /things"
    assert info.value.retry_after == 8  # ceil(7.5)


def test_retry_after_is_at_least_one_second() -> None:
    """Just before half-open the hint is still a whole second, never 0."""
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(OPEN_FOR - 0.01)
    assert breaker.retry_after() == 1


def test_try_acquire_returns_none_when_open() -> None:
    """The non-raising fast path answers None for a rejection."""
    breaker = make()
    trip(breaker)
    assert breaker.try_acquire() is None


def test_turns_half_open_after_open_for() -> None:
    """After open_for seconds the breaker turns half-open and admits a probe."""
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(OPEN_FOR - 0.001)
    assert breaker.try_acquire() is None
    clock.advance(0.001)
    permit = breaker.try_acquire()
    assert permit is not None
    assert permit.is_probe


# -- half-open ---------------------------------------------------------------------------


def test_half_open_admits_at_most_half_open_calls() -> None:
    """Only half_open_calls probes are admitted; the rest are rejected."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=2)
    to_half_open(breaker, clock)
    probes = [breaker.try_acquire() for _ in range(5)]
    assert sum(p is not None for p in probes) == 2


def test_half_open_rejection_suggests_retry_in_one_second() -> None:
    """A caller turned away while probes run is told to retry in a second."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1)
    to_half_open(breaker, clock)
    breaker.acquire()
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.retry_after == 1


def test_all_probes_succeeding_closes_with_an_empty_window() -> None:
    """When every probe succeeds the breaker closes and forgets the old failures."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=2)
    to_half_open(breaker, clock)
    first, second = breaker.acquire(), breaker.acquire()
    first.success()
    assert breaker.state is State.HALF_OPEN
    second.success()
    snapshot = breaker.snapshot()
    assert snapshot.state is State.CLOSED
    assert (snapshot.calls, snapshot.failures, snapshot.consecutive_failures) == (0, 0, 0)


def test_a_successful_probe_keeps_its_slot_until_closing() -> None:
    """Successes fill slots: after one success only half_open_calls - 1 more are admitted."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=2)
    to_half_open(breaker, clock)
    breaker.acquire().success()
    assert breaker.try_acquire() is not None
    assert breaker.try_acquire() is None


def test_a_probe_failure_reopens_with_doubled_open_time() -> None:
    """Any failed probe re-opens the breaker for twice the previous open time."""
    clock = FakeClock()
    breaker = make(clock)
    to_half_open(breaker, clock)
    breaker.acquire().failure()
    snapshot = breaker.snapshot()
    assert snapshot.state is State.OPEN
    assert snapshot.seconds_to_half_open == 2 * OPEN_FOR


def test_open_time_keeps_doubling_up_to_max_open_for() -> None:
    """Repeated probe failures double the open time until max_open_for caps it."""
    clock = FakeClock()
    breaker = make(clock, open_for=10.0, max_open_for=50.0)
    seen = []
    for _ in range(5):
        to_half_open(breaker, clock)
        breaker.acquire().failure()
        seen.append(breaker.snapshot().seconds_to_half_open)
    assert seen == [20.0, 40.0, 50.0, 50.0, 50.0]


def test_open_time_resets_after_closing() -> None:
    """After the breaker closes, the next trip opens for open_for again."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1)
    to_half_open(breaker, clock)
    breaker.acquire().failure()
    to_half_open(breaker, clock)
    breaker.acquire().success()
    trip(breaker)
    assert breaker.snapshot().seconds_to_half_open == OPEN_FOR


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 8.0), (0.5, 10.0), (1.0, 12.0)])
def test_jitter_spreads_open_time_by_the_fraction(draw: float, expected: float) -> None:
    """jitter=0.2 gives an open time within ±20 %, chosen by the injected random."""
    clock = FakeClock()
    breaker = make(clock, jitter=0.2, random=lambda: draw)
    trip(breaker)
    assert breaker.snapshot().seconds_to_half_open == pytest.approx(expected)


def test_jitter_never_exceeds_max_open_for() -> None:
    """Jitter above the cap is clipped to max_open_for."""
    clock = FakeClock()
    breaker = make(clock, open_for=10.0, max_open_for=10.0, jitter=0.5, random=lambda: 1.0)
    trip(breaker)
    assert breaker.snapshot().seconds_to_half_open == 10.0


def test_all_slow_probes_reopen() -> None:
    """Probes that succeed but are slow at slow_call_rate re-open the breaker."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=2, slow_call_duration=1.0, slow_call_rate=1.0)
    to_half_open(breaker, clock)
    first, second = breaker.acquire(), breaker.acquire()
    first.success(duration=3.0)
    second.success(duration=3.0)
    assert breaker.state is State.OPEN


def test_ignored_probe_frees_its_slot() -> None:
    """A probe answered 429 (ignored) frees its slot without counting."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1)
    to_half_open(breaker, clock)
    breaker.acquire().status(429)
    assert breaker.state is State.HALF_OPEN
    assert breaker.try_acquire() is not None


def test_lost_probe_frees_its_slot_when_its_lease_expires() -> None:
    """A probe that never reports loses its slot after probe_timeout, so half-open cannot wedge."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1, probe_timeout=5.0)
    to_half_open(breaker, clock)
    assert breaker.try_acquire() is not None  # never reported
    clock.advance(4.5)
    assert breaker.try_acquire() is None
    clock.advance(0.5)
    assert breaker.try_acquire() is not None


def test_probe_lease_defaults_to_open_for() -> None:
    """Without probe_timeout a probe's lease lasts open_for seconds."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1)
    to_half_open(breaker, clock)
    breaker.acquire()
    clock.advance(OPEN_FOR)
    assert breaker.try_acquire() is not None


def test_result_of_an_expired_probe_is_dropped() -> None:
    """A probe reporting after its lease expired changes nothing."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1, probe_timeout=5.0)
    to_half_open(breaker, clock)
    late = breaker.acquire()
    clock.advance(6.0)
    late.failure()
    assert breaker.state is State.HALF_OPEN


def test_a_probe_reported_twice_counts_once() -> None:
    """A second report for the same probe is ignored."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=2)
    to_half_open(breaker, clock)
    probe = breaker.acquire()
    probe.success()
    probe.success()
    assert breaker.state is State.HALF_OPEN


# -- epochs --------------------------------------------------------------------------------


def test_late_failure_from_before_a_trip_changes_nothing() -> None:
    """A call admitted while closed that fails after the breaker half-opened does not re-open it."""
    clock = FakeClock()
    breaker = make(clock)
    straggler = breaker.acquire()
    to_half_open(breaker, clock)
    straggler.failure()
    assert breaker.state is State.HALF_OPEN


def test_late_results_after_closing_do_not_count_in_the_new_window() -> None:
    """Results of calls admitted before the breaker closed stay out of the new window."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1)
    stragglers = [breaker.acquire() for _ in range(3)]
    to_half_open(breaker, clock)
    breaker.acquire().success()
    for permit in stragglers:
        permit.failure()
    assert breaker.snapshot().calls == 0


def test_late_probe_result_after_reopening_changes_nothing() -> None:
    """A second probe reporting success after another probe re-opened does not close it."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=2)
    to_half_open(breaker, clock)
    first, second = breaker.acquire(), breaker.acquire()
    first.failure()
    second.success()
    assert breaker.state is State.OPEN


def test_each_transition_starts_a_new_epoch() -> None:
    """Permits carry the epoch they were admitted in; transitions move it on."""
    clock = FakeClock()
    breaker = make(clock)
    before = breaker.acquire().epoch
    trip(breaker)
    assert breaker.snapshot().epoch == before + 1


# -- manual states and modes --------------------------------------------------------------


def test_forced_open_rejects_until_closed() -> None:
    """force_open() rejects every call, however much time passes, until close()."""
    clock = FakeClock()
    breaker = make(clock)
    breaker.force_open()
    clock.advance(1e6)
    assert breaker.try_acquire() is None
    breaker.close()
    assert breaker.try_acquire() is not None


def test_forced_open_suggests_retry_after_open_for() -> None:
    """A forced-open rejection hints open_for seconds."""
    breaker = make(open_for=7.2)
    breaker.force_open()
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.retry_after == 8


def test_disabled_admits_everything_and_records_nothing() -> None:
    """A disabled breaker never rejects and keeps no metrics."""
    breaker = make(consecutive_failures=1)
    breaker.disable()
    fail(breaker, 50)
    snapshot = breaker.snapshot()
    assert snapshot.state is State.DISABLED
    assert snapshot.calls == 0


def test_metrics_only_never_rejects_but_reports_would_open() -> None:
    """In metrics-only mode failures are recorded and flagged, but calls go through."""
    breaker = make()
    breaker.metrics_only()
    fail(breaker, 10)
    snapshot = breaker.snapshot()
    assert snapshot.state is State.METRICS_ONLY
    assert (snapshot.calls, snapshot.would_open) == (10, True)
    assert breaker.try_acquire() is not None


def test_metrics_only_would_open_clears_when_rate_drops() -> None:
    """would_open follows the window: enough successes clear it."""
    breaker = make(window=4)
    breaker.metrics_only()
    fail(breaker, 4)
    succeed(breaker, 4)
    assert breaker.snapshot().would_open is False


@pytest.mark.parametrize(
    ("options", "outcomes", "reason"),
    [
        ({}, [(True, None)] * 2 + [(False, None)] * 2, "failure_rate"),
        (
            {"slow_call_duration": 1.0, "slow_call_rate": 0.5},
            [(False, 0.1), (False, 2.0)] * 2,
            "slow_call_rate",
        ),
        (
            {"minimum_calls": 10, "consecutive_failures": 3},
            [(True, None)] * 3,
            "consecutive_failures",
        ),
    ],
)
def test_metrics_only_would_open_by_the_rule_that_trips_a_closed_breaker(
    options: dict[str, Any], outcomes: list[tuple[bool, float | None]], reason: str
) -> None:
    """Each trip rule opens a closed breaker and flags would_open in metrics-only mode alike."""
    closed, watching = make(**options), make(**options)
    watching.metrics_only()
    events = listen(closed)
    for failed, duration in outcomes:
        for breaker in (closed, watching):
            permit = breaker.acquire()
            if failed:
                permit.failure(duration)
            else:
                permit.success(duration)
    assert [e.reason for e in events] == [reason]
    assert watching.snapshot().would_open is True


@pytest.mark.parametrize(
    ("mode", "state"), [("metrics_only", State.METRICS_ONLY), ("disabled", State.DISABLED)]
)
def test_mode_setting_chooses_the_starting_state(mode: str, state: State) -> None:
    """settings.mode starts the breaker in metrics-only or disabled."""
    assert make(mode=mode).state is state


def test_reset_returns_to_the_configured_mode() -> None:
    """reset() goes back to the mode's state with empty metrics; close() always closes."""
    breaker = make(mode="metrics_only")
    breaker.force_open()
    breaker.reset()
    assert breaker.snapshot().state is State.METRICS_ONLY
    breaker.close()
    assert breaker.state is State.CLOSED


def test_reset_clears_the_window() -> None:
    """reset() forgets every recorded outcome."""
    breaker = make()
    fail(breaker)
    breaker.reset()
    assert breaker.snapshot().calls == 0


# -- events ---------------------------------------------------------------------------------


def test_each_transition_fires_one_event_with_its_reason() -> None:
    """Trip, half-open and close each fire one event naming old state, new state and reason."""
    clock = FakeClock()
    breaker = make(clock, half_open_calls=1)
    events = listen(breaker)
    trip(breaker)
    assert breaker.try_acquire() is None  # rejections fire nothing
    clock.advance(OPEN_FOR)
    breaker.acquire().success()
    assert [(e.old_state, e.new_state, e.reason) for e in events] == [
        (State.CLOSED, State.OPEN, "failure_rate"),
        (State.OPEN, State.HALF_OPEN, "open_timeout"),
        (State.HALF_OPEN, State.CLOSED, "probes_succeeded"),
    ]
    assert [e.at for e in events] == [0.0, OPEN_FOR, OPEN_FOR]
    assert {e.name for e in events} == {"GET /things"}


def test_late_failures_after_a_trip_fire_no_more_events() -> None:
    """Failures of calls admitted before the trip do not fire a second open event."""
    breaker = make(minimum_calls=2)
    permits = [breaker.acquire() for _ in range(6)]
    events = listen(breaker)
    for permit in permits:
        permit.failure()
    assert len(events) == 1


def test_manual_transition_to_the_same_state_fires_nothing() -> None:
    """force_open() twice fires one event; close() on a closed breaker fires none."""
    breaker = make()
    events = listen(breaker)
    breaker.close()
    breaker.force_open()
    breaker.force_open()
    assert [(e.new_state, e.reason) for e in events] == [(State.FORCED_OPEN, "forced_open")]


def test_removed_listener_is_not_called() -> None:
    """remove_listener() stops the events."""
    breaker = make()
    events = listen(breaker)
    breaker.remove_listener(events.append)
    breaker.force_open()
    assert events == []


def test_failing_listener_is_logged_by_class_only_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A listener that raises is logged without its message, and the next listener still runs."""

    def broken(event: BreakerEvent) -> None:
        raise RuntimeError("secret=hunter2")

    breaker = make()
    breaker.add_listener(broken)
    events = listen(breaker)
    with caplog.at_level(logging.WARNING, logger="seawall.breaker"):
        breaker.force_open()
    assert len(events) == 1
    assert "RuntimeError" in caplog.text
    assert "hunter2" not in caplog.text


def test_state_read_fires_the_half_open_event_once() -> None:
    """Reading state after open_for applies the transition once, however often it is read."""
    clock = FakeClock()
    breaker = make(clock)
    trip(breaker)
    events = listen(breaker)
    clock.advance(OPEN_FOR)
    for _ in range(3):
        assert breaker.state is State.HALF_OPEN
    breaker.snapshot()
    assert len(events) == 1


# -- HTTP status mapping and snapshot ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "calls", "failures"),
    [(500, 1, 1), (503, 1, 1), (404, 1, 0), (200, 1, 0), (429, 0, 0)],
)
def test_http_status_maps_to_outcome(status: int, calls: int, failures: int) -> None:
    """500/502/503/504 fail, 429 is ignored, anything else succeeds."""
    breaker = make()
    breaker.acquire().status(status)
    snapshot = breaker.snapshot()
    assert (snapshot.calls, snapshot.failures) == (calls, failures)


def test_failure_statuses_come_from_settings() -> None:
    """A custom failure_statuses set decides which statuses fail."""
    breaker = make(failure_statuses=frozenset({408}))
    breaker.record_status(breaker.acquire(), 408, 0.1)
    breaker.record_status(breaker.acquire(), 500, 0.1)
    assert breaker.snapshot().failures == 1


def test_snapshot_reports_rates_and_time_to_half_open() -> None:
    """The snapshot carries totals, rates and the seconds left before half-open."""
    clock = FakeClock()
    breaker = make(clock, minimum_calls=4, slow_call_duration=1.0)
    succeed(breaker, 1, duration=5.0)
    fail(breaker, 3)
    clock.advance(4.0)
    snapshot = breaker.snapshot()
    assert snapshot.state is State.OPEN
    assert (snapshot.calls, snapshot.failures, snapshot.slow_calls) == (4, 3, 1)
    assert (snapshot.failure_rate, snapshot.slow_rate) == (0.75, 0.25)
    assert snapshot.open_until == OPEN_FOR
    assert snapshot.seconds_to_half_open == OPEN_FOR - 4.0
