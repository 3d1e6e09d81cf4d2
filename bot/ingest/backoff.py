"""When to poll a feed next: the back-off policy (pure functions).

* After a success (or 304) the feed is polled again after ``interval_s``,
  plus or minus ``jitter_fraction`` of it, so feeds added together drift
  apart instead of hitting servers in bursts.
* After the n-th consecutive failure it waits ``base_s * 2**(n-1)`` seconds
  capped at ``max_s`` (but never capped below the normal interval), with
  "equal jitter": a uniform pick between half that and all of it. The
  wait therefore grows with every failure while retries stay spread out.
  A server's Retry-After (429/503) is honoured as a minimum, up to
  :data:`MAX_RETRY_AFTER_S` so a hostile value cannot silence a feed for
  years.
* A feed is *paused* (no more polling until someone resumes it) only when
  it has failed at least ``max_failures`` times in a row **and** has been
  failing for at least ``max_age_s``: a burst of errors does not pause a
  feed, and neither does a long outage seen only a few times.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Protocol

MAX_RETRY_AFTER_S = 24 * 3600
MIN_DELAY_S = 1.0
_MAX_EXPONENT = 40


class Uniform(Protocol):
    """Anything with ``uniform(a, b)``: the :mod:`random` module or a ``Random``."""

    def uniform(self, a: float, b: float) -> float: ...


def next_poll_after_success(
    now: datetime,
    interval_s: float,
    jitter_fraction: float = 0.1,
    rng: Uniform = random,
) -> datetime:
    """``now`` + the polling interval, jittered by ``jitter_fraction``."""
    spread = max(0.0, interval_s * jitter_fraction)
    delay = interval_s + rng.uniform(-spread, spread)
    return now + timedelta(seconds=max(MIN_DELAY_S, delay))


def failure_delay_ceiling(
    consecutive_failures: int, *, interval_s: float, base_s: float = 60, max_s: float = 6 * 3600
) -> float:
    """The longest wait after ``consecutive_failures`` failures (before jitter)."""
    exponent = min(max(consecutive_failures, 1) - 1, _MAX_EXPONENT)
    return min(base_s * 2.0**exponent, max(max_s, interval_s))


def next_poll_after_failure(
    now: datetime,
    consecutive_failures: int,
    *,
    interval_s: float,
    retry_after: float | None = None,
    base_s: float = 60,
    max_s: float = 6 * 3600,
    rng: Uniform = random,
) -> datetime:
    """When to retry after the ``consecutive_failures``-th failure in a row."""
    ceiling = failure_delay_ceiling(
        consecutive_failures, interval_s=interval_s, base_s=base_s, max_s=max_s
    )
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return now + timedelta(seconds=max(MIN_DELAY_S, delay))


def should_pause(
    consecutive_failures: int,
    first_failure_age_s: float,
    *,
    max_failures: int = 10,
    max_age_s: float = 3 * 86400,
) -> bool:
    """True when a feed has failed long enough and often enough to stop polling."""
    return consecutive_failures >= max_failures and first_failure_age_s >= max_age_s
