"""Breaking-story alerts: one short message the first time a story reaches N outlets.

A digest channel with ``alert=N`` (see :func:`bot.config.parse_channels`) gets,
after each poll cycle, one message per story that has just reached N distinct
outlets, outside its daily schedule. Knows nothing about Discord: the bot hands
in ``render(record) -> payload`` and ``send(payload, nonce) -> message_id``.

Which stories qualify, for a channel whose local day (its timezone) is ``D``:

* the same stories its digest could show: articles visible to the channel's
  server (:mod:`bot.store.visibility`) and, for a routed channel (``feeds=``,
  ``tags=``), an article of one of its feeds published on ``D``;
* the story *crossed* N on ``D``: counting its visible outlets in order of
  publication (the last 14 days, as the digest counts coverage), the article
  that brought the N-th outlet was published on ``D`` (local midnight to now).
  A story that reached N on an earlier day never alerts, so turning the option
  on (or starting the bot after days away) does not flood the channel with
  old news; at most the stories that crossed N since midnight, within the cap;
* it was not sent in the channel's digest of ``D``, and the channel never had
  an alert for it (any day);
* at most ``alerts_per_day`` alert claims per channel and local day.

Exactly once, as :mod:`bot.delivery` posts digests:

* a durable claim row (``alerts``, one per channel and story, with the message
  it will post) is written before the message goes out; the same insert
  checks the daily cap. The row ends ``sent`` (with the message id) or
  ``failed``; a failed alert is never retried (a missing alert is better than
  a double one; the digest still shows the story).
* The message carries a nonce derived from (channel, story), with
  ``enforce_nonce``: Discord drops a second message with that nonce for a few
  minutes.
* A claim still ``claimed`` when the next cycle runs means the process died
  mid-post. Younger than ``resend_window`` seconds (real time) it is resent
  with the same nonce (Discord deduplicates if the first one got through);
  older, Discord no longer deduplicates, so it is marked ``failed``
  ("uncertain") and not resent.
* While the channel's digest for ``D`` is itself in flight (claimed, not yet
  recorded), new alerts wait for the next cycle, so a story cannot go out in
  both; a channel with a recorded 403 is skipped, as its digests are, and a
  403 records one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import DigestChannel
from bot.delivery import NONCE_LENGTH, RESEND_WINDOW_SECONDS, SendForbidden
from bot.digest.build import LOOKBACK
from bot.digest.summary import choose_headline, clean_headline
from bot.models import AlertRecord, WindowStory
from bot.outlets import outlet_key
from bot.store import alerts as store
from bot.store import digests as digest_store
from bot.store import transaction
from bot.store.digest_articles import window_stories
from bot.store.digest_history import sent_on

if TYPE_CHECKING:
    from bot.store import Connection

log = logging.getLogger(__name__)

Payload = dict[str, Any]
SendFn = Callable[[Payload, str], Awaitable[int]]
RenderFn = Callable[[AlertRecord], Payload]


@dataclass(slots=True, frozen=True)
class BreakingStory:
    """A story that reached a channel's ``alert=N`` outlets today."""

    story_id: int
    headline: str
    url: str | None
    source_count: int  # distinct visible outlets now
    crossed_at: dt.datetime  # publication time of the article that brought the N-th outlet


@dataclass(slots=True)
class AlertReport:
    """What one channel's alert check did."""

    channel_id: int
    day: dt.date
    sent: list[int] = field(default_factory=list)  # story ids posted (resends included)
    failed: list[int] = field(default_factory=list)  # story ids whose post failed
    uncertain: list[int] = field(default_factory=list)  # stale claims marked failed
    skipped: str | None = None  # why nothing new was tried, if so


def alert_nonce(channel_id: int, story_id: int) -> str:
    """The 25-character nonce of the alert for ``story_id`` in ``channel_id``."""
    key = f"newsdesk-alert:{channel_id}:{story_id}".encode()
    return hashlib.sha256(key).hexdigest()[:NONCE_LENGTH]


def local_day(channel: DigestChannel, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The channel's local date at ``now`` and the UTC moment that day began."""
    day = now.astimezone(channel.tz).date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=channel.tz).astimezone(dt.UTC)
    return day, start


def _is_web_url(url: str | None) -> bool:
    return url is not None and url.lower().startswith(("http://", "https://"))


def crossings(
    stored: Mapping[int, WindowStory], *, threshold: int, since_ts: int
) -> list[BreakingStory]:
    """The stories of ``stored`` whose ``threshold``-th outlet was published at or
    after ``since_ts``, earliest crossing first (articles come oldest first)."""
    found: list[BreakingStory] = []
    for story in stored.values():
        outlets: set[str] = set()
        crossed: int | None = None
        for article in story.articles:
            outlets.add(outlet_key(article.source, article.id))
            if crossed is None and len(outlets) >= threshold:
                crossed = article.published_ts
        if crossed is None or crossed < since_ts:
            continue
        linked = [a for a in story.articles if _is_web_url(a.url)]
        pool = linked or story.articles
        titles = [clean_headline(a.title, a.source) for a in pool]
        index = choose_headline(titles)
        found.append(
            BreakingStory(
                story_id=story.story_id,
                headline=titles[index] or "(untitled)",
                url=pool[index].url,
                source_count=len(outlets),
                crossed_at=dt.datetime.fromtimestamp(crossed, dt.UTC),
            )
        )
    found.sort(key=lambda b: (b.crossed_at, b.story_id))
    return found


async def due_alerts(
    db: Connection,
    channel: DigestChannel,
    *,
    now: dt.datetime,
    feed_ids: Collection[int] | None = None,
) -> list[BreakingStory]:
    """The stories ``channel`` should be alerted about now, within today's cap.

    ``feed_ids``: the channel's routed feeds (None: not routed). Empty when
    the channel has no ``alert=``.
    """
    if channel.alert is None:
        return []
    day, start = local_day(channel, now)
    start_ts, end_ts = int(start.timestamp()), int(now.timestamp()) + 1
    since = start_ts - int(LOOKBACK.total_seconds())
    stored = await window_stories(
        db,
        start=start_ts,
        end=end_ts,
        since=since,
        guild_id=channel.guild_id or 0,
        feed_ids=feed_ids,
    )
    found = crossings(stored, threshold=channel.alert, since_ts=start_ts)
    if not found:
        return []
    ids = [b.story_id for b in found]
    done = await store.alerted_stories(db, channel.channel_id, ids) | await sent_on(
        db, channel.channel_id, day
    )
    left = channel.alerts_per_day - len(await store.alerts_on(db, channel.channel_id, day))
    return [b for b in found if b.story_id not in done][: max(0, left)]


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class Alerts:
    """Claims, posts and records breaking-story alerts, each exactly once.

    ``clock`` gives unix seconds of real time (claim times, the age of a
    claim), as :class:`bot.delivery.Delivery`'s does: Discord's nonce window
    runs on real time, not on the services' clock.
    """

    def __init__(
        self,
        db: Connection,
        *,
        resend_window: float = RESEND_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.resend_window = resend_window
        self.clock = clock
        self._locks: dict[int, asyncio.Lock] = {}

    def _now(self) -> int:
        return int(self.clock())

    def lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    async def claim(
        self, channel: DigestChannel, story: BreakingStory, day: dt.date
    ) -> AlertRecord | None:
        """The durable claim on ``story``'s alert (committed before any post);
        ``None`` when it was claimed before or today's cap is reached."""
        cid = channel.channel_id
        async with transaction(self.db):
            claimed = await store.claim_alert(
                self.db,
                cid,
                story.story_id,
                day=day,
                guild_id=channel.guild_id or 0,
                nonce=alert_nonce(cid, story.story_id),
                headline=story.headline,
                url=story.url,
                source_count=story.source_count,
                now=self._now(),
                per_day=channel.alerts_per_day,
            )
        return await store.get_alert(self.db, cid, story.story_id) if claimed else None

    async def mark_sent(self, channel_id: int, story_id: int, message_id: int) -> None:
        async with transaction(self.db):
            await store.finish_alert(
                self.db, channel_id, story_id, store.SENT, now=self._now(), message_id=message_id
            )

    async def mark_failed(self, channel_id: int, story_id: int, error: str) -> None:
        async with transaction(self.db):
            await store.finish_alert(
                self.db, channel_id, story_id, store.FAILED, now=self._now(), error=error
            )

    async def post(
        self,
        channel: DigestChannel,
        due: Callable[[], Awaitable[list[BreakingStory]]],
        day: dt.date,
        *,
        render: RenderFn,
        send: SendFn,
    ) -> AlertReport:
        """Settle the channel's pending claims, then claim, post and record each due alert."""
        async with self.lock(channel.channel_id):
            report = await self._post(channel, due, day, render, send)
        if report.sent or report.failed or report.uncertain:
            log.info(
                "alerts channel=%s date=%s sent=%s failed=%s uncertain=%s",
                channel.channel_id,
                day.isoformat(),
                report.sent,
                report.failed,
                report.uncertain,
            )
        return report

    async def _post(
        self,
        channel: DigestChannel,
        due: Callable[[], Awaitable[list[BreakingStory]]],
        day: dt.date,
        render: RenderFn,
        send: SendFn,
    ) -> AlertReport:
        cid = channel.channel_id
        report = AlertReport(cid, day)
        if await digest_store.is_forbidden(self.db, cid):
            report.skipped = "forbidden"
            return report
        for record in await store.pending_alerts(self.db, cid):
            age = self._now() - record.claimed_at
            if age > self.resend_window:
                error = (
                    f"uncertain: claimed {age}s ago and never confirmed; not resent, since "
                    "Discord no longer deduplicates the nonce"
                )
                await self.mark_failed(cid, record.story_id, error)
                report.uncertain.append(record.story_id)
                continue
            log.info("resending the alert for story %s to channel %s", record.story_id, cid)
            if not await self._send_one(channel, record, render, send, report):
                return report
        digest = await digest_store.get_digest(self.db, cid, day)
        if digest is not None and digest.status == digest_store.CLAIMED:
            report.skipped = "the digest is being posted"
            return report
        for story in await due():
            claimed = await self.claim(channel, story, day)
            if claimed is None:
                continue
            if not await self._send_one(channel, claimed, render, send, report):
                break
        return report

    async def _send_one(
        self,
        channel: DigestChannel,
        record: AlertRecord,
        render: RenderFn,
        send: SendFn,
        report: AlertReport,
    ) -> bool:
        """Post one claimed alert and record the outcome; ``False``: stop this channel."""
        cid, sid = channel.channel_id, record.story_id
        try:
            message_id = await send(render(record), record.nonce)
        except SendForbidden as exc:
            await self._failed(channel, sid, f"403 Forbidden: {_short(exc)}", forbidden=True)
            report.failed.append(sid)
            return False
        except Exception as exc:  # noqa: BLE001 - reported, never retried blindly
            log.warning("sending the alert for story %s to channel %s failed: %s", sid, cid, exc)
            error = f"sending the alert failed: {_short(exc)}"
            await self._failed(channel, sid, error, forbidden=False)
            report.failed.append(sid)
            return False
        await self.mark_sent(cid, sid, int(message_id))
        report.sent.append(sid)
        return True

    async def _failed(
        self, channel: DigestChannel, story_id: int, error: str, *, forbidden: bool
    ) -> None:
        """Record a failed alert and the channel's state: refusing posts (403), or an error."""
        cid, guild = channel.channel_id, channel.guild_id or 0
        async with transaction(self.db):
            if forbidden:
                await digest_store.mark_forbidden(
                    self.db, cid, guild_id=guild, error=error, now=self._now()
                )
            else:
                await digest_store.record_channel_error(
                    self.db, cid, guild_id=guild, error=error, now=self._now()
                )
            await store.finish_alert(
                self.db, cid, story_id, store.FAILED, now=self._now(), error=error
            )
