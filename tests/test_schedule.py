"""Digest scheduling (bot.schedule): DST, the digest day, start-up catch-up, jobs.

The clock is driven by hand: fire times are computed from the triggers and the
job functions are called directly with a fake ``now``; nothing waits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.config import DigestChannel
from bot.delivery import Delivery, PreparedDigest
from bot.schedule import (
    NewsScheduler,
    digest_trigger,
    latest_due,
    poll_jitter_seconds,
    scheduled_at,
)
from bot.store import digests as store

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

UTC = dt.UTC
PARIS = "Europe/Paris"


def chan(hour: int, minute: int = 0, tz: str = PARIS, cid: int = 222222222222222222):
    return DigestChannel(channel_id=cid, time=dt.time(hour, minute), timezone=tz)


def fire_times(trigger, start: dt.datetime, n: int) -> list[dt.datetime]:
    out, prev, now = [], None, start
    for _ in range(n):
        nxt = trigger.get_next_fire_time(prev, now)
        out.append(nxt)
        prev = now = nxt
    return out


@pytest.mark.parametrize(
    ("tz", "start", "utc_hours"),
    [
        # Europe/Paris springs forward on 2024-03-31: 08:00 local is 07:00 UTC, then 06:00.
        (PARIS, dt.datetime(2024, 3, 29, 12, tzinfo=UTC), [7, 6, 6, 6]),
        # ... and falls back on 2024-10-27: 06:00 UTC, then 07:00.
        (PARIS, dt.datetime(2024, 10, 25, 12, tzinfo=UTC), [6, 7, 7, 7]),
        # New York springs forward on 2024-03-10: 08:00 EST = 13:00 UTC, EDT = 12:00 UTC.
        ("America/New_York", dt.datetime(2024, 3, 8, 18, tzinfo=UTC), [13, 12, 12, 12]),
    ],
)
def test_cron_trigger_keeps_local_time_across_dst(tz, start, utc_hours):
    times = fire_times(digest_trigger(chan(8, tz=tz)), start, 4)
    assert [t.astimezone(ZoneInfo(tz)).hour for t in times] == [8, 8, 8, 8]
    assert [t.astimezone(UTC).hour for t in times] == utc_hours
    days = [t.astimezone(ZoneInfo(tz)).date() for t in times]
    assert days == [days[0] + dt.timedelta(days=i) for i in range(4)]


def test_nonexistent_local_time_fires_once_where_latest_due_expects_it():
    channel = chan(2, 30)
    spring = dt.date(2024, 3, 31)  # 02:30 does not exist in Paris that day
    (fire,) = [
        t
        for t in fire_times(digest_trigger(channel), dt.datetime(2024, 3, 30, 12, tzinfo=UTC), 3)
        if t.astimezone(ZoneInfo(PARIS)).date() == spring
    ]
    assert fire == scheduled_at(channel, spring)
    assert latest_due(channel, fire) == (spring, fire)


def test_latest_due_picks_the_slot_day_not_the_run_day():
    channel = chan(23, 50)
    late_run = dt.datetime(2024, 6, 1, 22, 5, tzinfo=UTC)  # 00:05 on June 2nd in Paris
    day, at = latest_due(channel, late_run)
    assert day == dt.date(2024, 6, 1)
    assert at == dt.datetime(2024, 6, 1, 21, 50, tzinfo=UTC)
    before = dt.datetime(2024, 6, 1, 5, 0, tzinfo=UTC)  # 07:00 Paris, before an 08:00 slot
    assert latest_due(chan(8), before)[0] == dt.date(2024, 5, 31)
    assert latest_due(chan(8), before + dt.timedelta(hours=1))[0] == dt.date(2024, 6, 1)


class Recorder:
    def __init__(self) -> None:
        self.digests: list[tuple[int, dt.date]] = []
        self.missed: list[tuple[int, dt.date, str]] = []
        self.polls = 0

    async def run_digest(self, channel: DigestChannel, day: dt.date) -> None:
        self.digests.append((channel.channel_id, day))

    async def record_missed(self, channel: DigestChannel, day: dt.date, reason: str) -> None:
        self.missed.append((channel.channel_id, day, reason))

    async def poll(self) -> None:
        self.polls += 1


def make_scheduler(channels, rec: Recorder, grace: float = 3.0, clock=None) -> NewsScheduler:
    return NewsScheduler(
        channels,
        poll_interval_minutes=15,
        grace_hours=grace,
        poll=rec.poll,
        run_digest=rec.run_digest,
        record_missed=rec.record_missed,
        clock=clock or (lambda: dt.datetime(2024, 6, 1, 12, tzinfo=UTC)),
    )


async def test_autumn_double_fire_posts_once(db):
    """02:30 happens twice on 2024-10-27 in Paris; the digest goes out once."""
    channel = chan(2, 30)
    times = fire_times(digest_trigger(channel), dt.datetime(2024, 10, 26, 12, tzinfo=UTC), 2)
    assert [t.astimezone(UTC).hour for t in times] == [0, 1]  # the repeated hour

    sent: list[str] = []

    async def send(payload: dict, nonce: str) -> int:
        sent.append(nonce)
        return len(sent)

    async def prepare() -> PreparedDigest:
        return PreparedDigest(payloads=[{"content": "x"}], items=[])

    delivery = Delivery(db)

    async def run_digest(ch: DigestChannel, day: dt.date):
        return await delivery.deliver(ch, day, prepare=prepare, send=send)

    sched = NewsScheduler(
        [channel],
        poll_interval_minutes=15,
        grace_hours=3,
        poll=None,
        run_digest=run_digest,
        record_missed=delivery.record_missed,
    )
    first = await sched.digest_job(channel.channel_id, now=times[0])
    second = await sched.digest_job(channel.channel_id, now=times[1])
    assert (first.day, first.result) == (dt.date(2024, 10, 27), "sent")
    assert (second.day, second.result) == (dt.date(2024, 10, 27), "already")
    assert len(sent) == 1


async def test_catch_up_posts_within_grace_and_records_missed_after():
    now = dt.datetime(2024, 6, 1, 9, 0, tzinfo=UTC)  # 11:00 in Paris
    early = chan(9, cid=1)  # due 2 h ago: within 3 h grace
    old = chan(7, cid=2)  # due 4 h ago: missed
    later = chan(12, cid=3)  # not due yet today: yesterday's slot is 23 h old
    rec = Recorder()
    outcome = await make_scheduler([early, old, later], rec).catch_up(now=now)
    assert outcome == {1: "run", 2: "missed", 3: "missed"}
    assert rec.digests == [(1, dt.date(2024, 6, 1))]
    assert [(c, d) for c, d, _ in rec.missed] == [
        (2, dt.date(2024, 6, 1)),
        (3, dt.date(2024, 5, 31)),
    ]
    assert "grace 3 h" in rec.missed[0][2]


async def test_restart_at_digest_time_does_not_duplicate(db):
    """Scheduled job and start-up catch-up both run for the same slot: one post."""
    channel = chan(8)
    slot = scheduled_at(channel, dt.date(2024, 6, 1))
    sent: list[str] = []

    async def send(payload: dict, nonce: str) -> int:
        sent.append(nonce)
        return len(sent)

    async def prepare() -> PreparedDigest:
        return PreparedDigest(payloads=[{"content": "a"}, {"content": "b"}], items=[])

    delivery = Delivery(db)

    async def run_digest(ch, day):
        return await delivery.deliver(ch, day, prepare=prepare, send=send)

    sched = NewsScheduler(
        [channel],
        poll_interval_minutes=15,
        grace_hours=3,
        poll=None,
        run_digest=run_digest,
        record_missed=delivery.record_missed,
    )
    await asyncio.gather(
        sched.digest_job(channel.channel_id, now=slot),
        sched.catch_up(now=slot + dt.timedelta(seconds=5)),
    )
    await sched.catch_up(now=slot + dt.timedelta(minutes=30))  # a second restart
    assert len(sent) == 2
    assert (await store.get_digest(db, channel.channel_id, slot.date())).status == "sent"


async def test_start_adds_jobs_with_grace_and_coalesce_and_shutdown_waits():
    rec = Recorder()
    release = asyncio.Event()

    async def slow_poll() -> None:
        await release.wait()
        rec.polls += 1

    sched = make_scheduler([chan(8, cid=1), chan(18, tz="America/New_York", cid=2)], rec)
    sched.poll = slow_poll
    sched.clock = lambda: dt.datetime.now(UTC)
    sched.start()
    try:
        jobs = {job.id: job for job in sched.scheduler.get_jobs()}
        assert set(jobs) == {"poll", "digest-1", "digest-2"}
        assert jobs["digest-1"].misfire_grace_time == 3 * 3600
        assert jobs["digest-1"].coalesce and jobs["poll"].coalesce
        assert str(jobs["digest-2"].trigger.timezone) == "America/New_York"
        assert jobs["poll"].trigger.jitter == poll_jitter_seconds(15) == 45
        nxt = sched.next_digest_times()[2].astimezone(ZoneInfo("America/New_York"))
        assert (nxt.hour, nxt.minute) == (18, 0)
        for _ in range(100):  # the poll job runs at start-up
            if sched._tasks:
                break
            await asyncio.sleep(0.01)
        assert sched._tasks
    finally:
        asyncio.get_running_loop().call_later(0.05, release.set)
        await sched.shutdown(wait_seconds=5)
    assert rec.polls == 1  # the in-flight poll finished instead of being cancelled
    assert not sched.scheduler.running


async def test_poll_job_logs_and_survives_errors(caplog):
    async def broken() -> None:
        raise RuntimeError("feed exploded")

    rec = Recorder()
    sched = make_scheduler([], rec)
    sched.poll = broken
    await sched.poll_job()
    assert "poll cycle failed" in caplog.text
