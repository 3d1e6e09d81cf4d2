"""Back-off policy: pure functions, checked with fixed and random jitter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.backoff import (
    MAX_RETRY_AFTER_S,
    failure_delay_ceiling,
    next_poll_after_failure,
    next_poll_after_success,
    should_pause,
)

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


class Edge:
    """An rng that always picks the low (or high) end of the range."""

    def __init__(self, high: bool) -> None:
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def secs(when: datetime) -> float:
    return (when - NOW).total_seconds()


def test_success_is_interval_plus_minus_jitter():
    assert secs(next_poll_after_success(NOW, 900, rng=Edge(False))) == 810
    assert secs(next_poll_after_success(NOW, 900, rng=Edge(True))) == 990
    assert secs(next_poll_after_success(NOW, 900, jitter_fraction=0, rng=Edge(True))) == 900
    rng = random.Random(7)
    samples = [secs(next_poll_after_success(NOW, 1800, rng=rng)) for _ in range(200)]
    assert all(1620 <= s <= 1980 for s in samples)
    assert len(set(samples)) > 100  # actually jittered


def test_failure_delay_doubles_then_caps():
    low = [
        secs(next_poll_after_failure(NOW, n, interval_s=900, rng=Edge(False))) for n in range(1, 12)
    ]
    high = [
        secs(next_poll_after_failure(NOW, n, interval_s=900, rng=Edge(True))) for n in range(1, 12)
    ]
    assert high[:5] == [60, 120, 240, 480, 960]
    assert low[:5] == [30, 60, 120, 240, 480]
    assert high[-1] == 6 * 3600 and low[-1] == 3 * 3600
    assert all(b >= a for a, b in zip(high, high[1:], strict=False))


def test_cap_is_never_below_the_normal_interval():
    # A failing feed that is normally polled daily is never retried more
    # often, for ever, than when it worked: the cap is at least the interval.
    assert failure_delay_ceiling(30, interval_s=86400) == 86400
    assert failure_delay_ceiling(30, interval_s=900) == 6 * 3600


def test_retry_after_is_a_minimum_and_is_bounded():
    d = next_poll_after_failure(NOW, 1, interval_s=900, retry_after=3600, rng=Edge(True))
    assert secs(d) == 3600
    d = next_poll_after_failure(NOW, 8, interval_s=900, retry_after=10, rng=Edge(True))
    assert secs(d) == 60 * 2**7  # the back-off is longer than Retry-After: keep it
    d = next_poll_after_failure(NOW, 1, interval_s=900, retry_after=10 * 365 * 86400)
    assert secs(d) == MAX_RETRY_AFTER_S


@given(
    n=st.integers(min_value=-5, max_value=10_000),
    interval=st.floats(min_value=1, max_value=7 * 86400),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_failure_delay_is_always_within_its_ceiling(n, interval, seed):
    ceiling = failure_delay_ceiling(n, interval_s=interval)
    delay = secs(next_poll_after_failure(NOW, n, interval_s=interval, rng=random.Random(seed)))
    assert max(1.0, ceiling / 2) <= delay <= max(1.0, ceiling)
    assert failure_delay_ceiling(n + 1, interval_s=interval) >= ceiling


def test_should_pause_needs_both_many_failures_and_a_long_streak():
    day = 86400
    assert not should_pause(3, 10 * day)  # a long outage seen rarely
    assert not should_pause(50, 2 * day)  # many failures, but not for long
    assert should_pause(10, 3 * day)
    assert should_pause(25, 4 * day)
    assert should_pause(2, 60, max_failures=2, max_age_s=60)


def test_returns_aware_datetimes():
    assert next_poll_after_success(NOW, 60).tzinfo is UTC
    later = next_poll_after_failure(NOW, 3, interval_s=60)
    assert later.tzinfo is UTC and later > NOW
    assert next_poll_after_success(NOW, 0) >= NOW + timedelta(seconds=1)
