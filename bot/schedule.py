"""When things happen: feed polling and one daily digest per channel (APScheduler 3.x).

* Polling: an ``IntervalTrigger`` every ``poll_interval_minutes`` with a little
  jitter (so many installs do not hit a feed at the same second), first run at
  start-up, one run at a time.
* Digests: one ``CronTrigger(hour, minute, timezone=ZoneInfo(channel.timezone))``
  per channel, so 08:00 stays 08:00 local time across DST changes. The digest
  day is the local date of the slot that fired (:func:`latest_due`), not of the
  moment the job ran. On the autumn change a slot inside the repeated hour
  fires twice; the second run finds that day's claim and posts nothing.
* Start-up catch-up: for each channel, the latest slot at or before now is
  posted if it is within ``digest_grace_hours`` and recorded ``missed``
  otherwise (both are no-ops when that day already has a row).

Nothing here knows about Discord: the bot passes ``poll()``,
``run_digest(channel, day)`` and ``record_missed(channel, day, reason)``, and,
when sharded, ``owns(channel)``: a channel this process does not own (its
server is on another process's shards) is neither posted nor recorded
missed here; its own process does both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import DigestChannel

log = logging.getLogger(__name__)

UTC = dt.UTC
SHUTDOWN_WAIT_SECONDS = 30.0

Clock = Callable[[], dt.datetime]
RunDigest = Callable[[DigestChannel, dt.date], Awaitable[Any]]
RecordMissed = Callable[[DigestChannel, dt.date, str], Awaitable[Any]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def scheduled_at(channel: DigestChannel, day: dt.date) -> dt.datetime:
    """The aware moment of ``channel``'s digest slot on local ``day``.

    A wall time that does not exist that day (spring forward) resolves like
    APScheduler does (the pre-change offset, i.e. one hour later on the clock);
    an ambiguous one (fall back) is its first occurrence.
    """
    naive = dt.datetime.combine(day, channel.time)
    return naive.replace(tzinfo=channel.tz)


def latest_due(channel: DigestChannel, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The local day and moment of the latest digest slot at or before ``now``."""
    today = now.astimezone(channel.tz).date()
    for day in (today, today - dt.timedelta(days=1), today - dt.timedelta(days=2)):
        at = scheduled_at(channel, day)
        if at <= now:
            return day, at
    raise AssertionError("unreachable: a daily slot exists within two days")


def digest_trigger(channel: DigestChannel) -> CronTrigger:
    """The daily trigger of ``channel``'s digest, in the channel's own timezone."""
    return CronTrigger(hour=channel.time.hour, minute=channel.time.minute, timezone=channel.tz)


def poll_jitter_seconds(minutes: int) -> int:
    """Up to 5% of the interval, between 1 second and 2 minutes."""
    return max(1, min(120, minutes * 3))


def poll_trigger(minutes: int) -> IntervalTrigger:
    """Polling every ``minutes`` with a small random jitter."""
    return IntervalTrigger(minutes=minutes, jitter=poll_jitter_seconds(minutes), timezone=UTC)


class NewsScheduler:
    """Owns the APScheduler instance and the jobs of one running bot."""

    def __init__(
        self,
        channels: Iterable[DigestChannel],
        *,
        poll_interval_minutes: int,
        grace_hours: float,
        poll: Callable[[], Awaitable[Any]] | None,
        run_digest: RunDigest,
        record_missed: RecordMissed,
        clock: Clock = utc_now,
        heartbeat: Callable[[], Awaitable[Any]] | None = None,
        heartbeat_seconds: int = 60,
        owns: Callable[[DigestChannel], bool] | None = None,
    ) -> None:
        self.channels = {c.channel_id: c for c in channels}
        self.owns = owns
        self.poll_interval_minutes = poll_interval_minutes
        self.grace = dt.timedelta(hours=grace_hours)
        self.poll = poll
        self.run_digest = run_digest
        self.record_missed = record_missed
        self.clock = clock
        self.heartbeat = heartbeat
        self.heartbeat_seconds = heartbeat_seconds
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, *, poll_now: bool = True) -> None:
        """Add the jobs and start the scheduler (inside the running event loop)."""
        grace_seconds = max(1, int(self.grace.total_seconds()))
        if self.poll is not None:
            self.scheduler.add_job(
                self._poll_job,
                poll_trigger(self.poll_interval_minutes),
                id="poll",
                name="poll feeds",
                next_run_time=self.clock() if poll_now else None,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=self.poll_interval_minutes * 60,
            )
        if self.heartbeat is not None:
            self.scheduler.add_job(
                self._heartbeat_job,
                IntervalTrigger(seconds=self.heartbeat_seconds, timezone=UTC),
                id="heartbeat",
                name="heartbeat",
                max_instances=1,
                coalesce=True,
            )
        for channel in self.channels.values():
            self.scheduler.add_job(
                self._digest_job,
                digest_trigger(channel),
                args=(channel.channel_id,),
                id=f"digest-{channel.channel_id}",
                name=f"digest for channel {channel.channel_id}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=grace_seconds,
            )
        self.scheduler.start()

    def next_digest_times(self) -> dict[int, dt.datetime | None]:
        """When each channel's next digest is due (for status displays)."""
        out: dict[int, dt.datetime | None] = {}
        for cid in self.channels:
            job = self.scheduler.get_job(f"digest-{cid}")
            out[cid] = job.next_run_time if job else None
        return out

    def next_poll_time(self) -> dt.datetime | None:
        job = self.scheduler.get_job("poll")
        return job.next_run_time if job else None

    async def shutdown(self, wait_seconds: float = SHUTDOWN_WAIT_SECONDS) -> None:
        """Stop firing jobs and let the ones in flight finish their writes."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            log.info("waiting for %d running job(s) to finish", len(pending))
            _done, still = await asyncio.wait(pending, timeout=wait_seconds)
            for task in still:
                task.cancel()

    async def _tracked(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` as a task that survives the executor cancelling its job."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _poll_job(self) -> None:
        await self._tracked(self.poll_job())

    async def _heartbeat_job(self) -> None:
        """ "Still alive" for ``newsdesk health``; errors are logged, never raised."""
        if self.heartbeat is None:
            return
        try:
            await self.heartbeat()
        except Exception:
            log.exception("heartbeat failed")

    async def _digest_job(self, channel_id: int) -> None:
        await self._tracked(self.digest_job(channel_id))

    async def poll_job(self) -> None:
        """One poll cycle; errors are logged, never raised into the scheduler."""
        if self.poll is None:
            return
        try:
            await self.poll()
        except Exception:
            log.exception("poll cycle failed")

    async def digest_job(self, channel_id: int, *, now: dt.datetime | None = None) -> Any:
        """The daily job: deliver the digest of the slot that just came due."""
        channel = self.channels[channel_id]
        if not self._owned(channel):
            return None
        day, _at = latest_due(channel, now or self.clock())
        try:
            return await self.run_digest(channel, day)
        except Exception:
            log.exception("digest for channel %s on %s failed", channel_id, day)
            return None

    def _owned(self, channel: DigestChannel) -> bool:
        """Whether this process posts ``channel`` (always, unless ``owns`` says otherwise)."""
        if self.owns is None or self.owns(channel):
            return True
        log.debug("digest for channel %s: not on this process's shards", channel.channel_id)
        return False

    async def catch_up(
        self, *, now: dt.datetime | None = None, channel_ids: Iterable[int] | None = None
    ) -> dict[int, str]:
        """At start-up: post each channel's latest slot within the grace period, else record
        it missed (only ``channel_ids`` when given; ``"elsewhere"``: not this process's)."""
        now = now or self.clock()
        outcome: dict[int, str] = {}
        wanted = None if channel_ids is None else set(channel_ids)
        for channel in self.channels.values():
            if wanted is not None and channel.channel_id not in wanted:
                continue
            if not self._owned(channel):
                outcome[channel.channel_id] = "elsewhere"
                continue
            day, at = latest_due(channel, now)
            late = now - at
            try:
                if late <= self.grace:
                    await self.run_digest(channel, day)
                    outcome[channel.channel_id] = "run"
                else:
                    hours = late.total_seconds() / 3600
                    reason = (
                        f"bot was not running at {at.isoformat()} and started {hours:.1f} h "
                        f"late (grace {self.grace.total_seconds() / 3600:g} h)"
                    )
                    await self.record_missed(channel, day, reason)
                    outcome[channel.channel_id] = "missed"
            except Exception:
                log.exception("start-up catch-up for channel %s failed", channel.channel_id)
                outcome[channel.channel_id] = "error"
        return outcome
