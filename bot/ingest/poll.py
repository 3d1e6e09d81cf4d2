"""One polling cycle: fetch every due feed, parse, ingest, record health.

Feeds are fetched concurrently (at most ``concurrency`` at a time, and the
fetcher's per-host limit). Each feed is isolated: its errors are caught,
recorded in its health columns with a back-off (:mod:`bot.ingest.backoff`)
and never delay or break the others beyond the fetcher's total timeout.

Feeds share one store connection; each feed's ingest and its health update
are short transactions of their own, which the store serialises
(:func:`bot.store.transaction`), and the ingest plans its stories before
taking the write lock (:mod:`bot.store.generation`). Parsing runs in a
worker thread so a large feed does not stall the event loop.

With a :class:`~bot.ingest.fulltext.FullText`, a feed's entries that give
only a summary get the text of the page they link to before they are
ingested: fetched concurrently through the same fetcher, in the feed's own
slot, outside any transaction, bounded in count and time (see that module).
A page that fails keeps its entry as the feed gave it and is counted.

Several processes may poll one store (PostgreSQL, or one SQLite file): a
cycle reads which feeds are due, then *claims* each as a slot frees up
(:func:`bot.store.feeds.claim_feed`, one conditional ``UPDATE`` in its own
transaction) and polls only the feeds it got. The claim moves the feed's
next poll time ``lease_s`` ahead, so no other poller takes it meanwhile;
recording the outcome sets the real next poll time, and a poller killed
mid-poll leaves the feed due again when the lease ends. A feed another
process took first is not this cycle's: it is not counted at all. Feeds are
claimed one at a time, so processes share a long list of due feeds.

A cycle logs exactly one INFO line; per-feed and per-page failures go to
DEBUG, a feed being paused to WARNING, bugs (unexpected exceptions) to ERROR.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from ..models import FeedRow, ParsedFeed
from ..store import feeds as feed_store
from ..store import transaction
from .backoff import Uniform, next_poll_after_failure, next_poll_after_success, should_pause
from .fetch import Fetcher, FetchError, FetchResult
from .fulltext import FullText, PagesOutcome
from .netguard import strip_userinfo
from .parse import ParseError, parse_feed

if TYPE_CHECKING:
    from ..store import Connection


class IngestCounts(Protocol):
    """What the ingest callback returns (any object with these attributes)."""

    new: int
    updated: int
    duplicates: int


IngestFn = Callable[[int, int, ParsedFeed], Awaitable[IngestCounts]]

# How long a claim keeps a feed from other pollers: longer than one feed's
# poll can take (a fetch's total timeout, the pages' time budget, parsing and
# the ingest's wait for the writer lock), and how long a feed waits for
# another poller when the one that claimed it died.
POLL_LEASE_S = 600.0


@dataclass
class PollReport:
    """What one cycle did. ``due == fetched + not_modified + failed``: the due
    feeds this cycle claimed (another process's are not counted)."""

    due: int = 0
    fetched: int = 0  # new content fetched, parsed and ingested
    not_modified: int = 0
    failed: int = 0
    new_articles: int = 0
    updated: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (feed_id, url, message)
    paused: list[int] = field(default_factory=list)  # feed ids paused in this cycle
    pages_fetched: int = 0  # article pages fetched for summary-only entries
    pages_failed: int = 0  # ... that failed (their entries keep the feed's summary)
    pages_deferred: int = 0  # ... left for the next cycle (per-feed count or time budget)
    pages_reused: int = 0  # entries given the text already stored for their page
    page_errors: list[tuple[int, str, str]] = field(default_factory=list)  # (feed_id, url, why)


@dataclass
class _Cycle:
    db: Connection
    fetcher: Fetcher
    ingest: IngestFn
    now_fn: Callable[[], datetime]
    interval_s: float
    logger: logging.Logger | logging.LoggerAdapter
    rng: Uniform
    max_failures: int
    max_age_s: float
    report: PollReport = field(default_factory=PollReport)
    fulltext: FullText | None = None

    async def poll(self, row: FeedRow) -> None:
        """Fetch, parse and ingest one feed; every outcome is recorded."""
        try:
            result = await self.fetcher.fetch(
                row.url, etag=row.etag, last_modified=row.last_modified
            )
        except FetchError as exc:
            await self.fail(row, str(exc), exc.retry_after)
            return
        except Exception:
            self.logger.exception("poll: unexpected error fetching feed %d", row.id)
            await self.fail(row, "internal error while fetching (see the bot's log)", None)
            return
        if result.not_modified:
            await self.not_modified(row, result)
            return
        try:
            parsed = await asyncio.to_thread(
                parse_feed, result.body or b"", url=result.url, content_type=result.content_type
            )
        except ParseError as exc:
            await self.fail(row, f"not a readable feed: {exc}", None)
            return
        except Exception:
            self.logger.exception("poll: unexpected error parsing feed %d", row.id)
            await self.fail(row, "internal error while parsing (see the bot's log)", None)
            return
        pages = await self.fill_pages(row, parsed)
        if pages is not None and pages.deferred:
            # Entries are left without their page: read the whole feed again
            # next time (no conditional GET), so they get it then.
            result.etag = result.last_modified = None
        await self.store(row, result, parsed)

    async def fill_pages(self, row: FeedRow, parsed: ParsedFeed) -> PagesOutcome | None:
        """Full text for the feed's summary-only entries; a failure here fails no feed."""
        if self.fulltext is None or not parsed.entries:
            return None
        try:
            pages = await self.fulltext.fill(
                parsed.entries, mode=row.fulltext, where=f"feed {row.id}"
            )
        except Exception:  # a bug or database trouble: ingest the entries as they are
            self.logger.exception("poll: could not fetch the pages of feed %d", row.id)
            return None
        r = self.report
        r.pages_fetched += pages.fetched
        r.pages_failed += pages.failed
        r.pages_deferred += pages.deferred
        r.pages_reused += pages.reused
        r.page_errors.extend((row.id, url, why) for url, why in pages.failures)
        return pages

    async def not_modified(self, row: FeedRow, result: FetchResult) -> None:
        now = self.now_fn()
        async with transaction(self.db):
            await feed_store.record_not_modified(
                self.db,
                row.id,
                now=now,
                next_poll_at=next_poll_after_success(now, self.interval_s, rng=self.rng),
                etag=result.etag,
                last_modified=result.last_modified,
            )
        self.report.not_modified += 1

    async def store(self, row: FeedRow, result: FetchResult, parsed: ParsedFeed) -> None:
        try:
            # The ingest writes the feed's entries in its own transaction; the
            # health update follows in another (transactions are not re-entrant).
            counts = await self.ingest(row.id, row.guild_id, parsed)
            now = self.now_fn()
            async with transaction(self.db):
                await feed_store.record_success(
                    self.db,
                    row.id,
                    now=now,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    next_poll_at=next_poll_after_success(now, self.interval_s, rng=self.rng),
                    title=parsed.title,
                )
        except Exception as exc:
            self.logger.exception("poll: could not store entries of feed %d", row.id)
            await self.fail(row, f"could not store its articles ({type(exc).__name__})", None)
            return
        self.report.fetched += 1
        self.report.new_articles += counts.new
        self.report.updated += counts.updated

    async def fail(self, row: FeedRow, message: str, retry_after: float | None) -> None:
        """Record a failure with back-off; pause the feed when it is hopeless."""
        now = self.now_fn()
        failures = row.consecutive_failures + 1
        age = (now - row.failing_since).total_seconds() if row.consecutive_failures else 0.0
        paused = should_pause(
            failures, age, max_failures=self.max_failures, max_age_s=self.max_age_s
        )
        next_at = next_poll_after_failure(
            now, failures, interval_s=self.interval_s, retry_after=retry_after, rng=self.rng
        )
        url = strip_userinfo(row.url)
        async with transaction(self.db):
            await feed_store.record_failure(
                self.db, row.id, now=now, error=message, next_poll_at=next_at, paused=paused
            )
        self.report.failed += 1
        self.report.errors.append((row.id, url, message))
        self.logger.debug(
            "poll: feed %d (%s) failed (%d in a row): %s", row.id, url, failures, message
        )
        if paused:
            self.report.paused.append(row.id)
            self.logger.warning(
                "poll: feed %d (%s) paused after %d failures in a row: %s",
                row.id,
                url,
                failures,
                message,
            )


async def poll_due_feeds(
    db: Connection,
    fetcher: Fetcher,
    ingest: IngestFn,
    *,
    now_fn: Callable[[], datetime],
    interval_s: float,
    concurrency: int = 8,
    logger: logging.Logger | logging.LoggerAdapter,
    max_failures: int = 10,
    max_age_s: float = 3 * 86400,
    rng: Uniform = random,
    fulltext: FullText | None = None,
    everything: bool = False,
    guild_id: int | None = None,
    lease_s: float = POLL_LEASE_S,
) -> PollReport:
    """Poll every feed that is due now; one INFO line summarises the cycle.

    ``fulltext`` fetches the pages of summary-only entries (None: never).
    ``everything`` polls every feed that is not paused, due or not;
    ``guild_id`` only the feeds that guild reads (see :func:`feed_store.due_feeds`).
    A feed polled early still honours conditional GET.

    Each feed is claimed when its turn comes (``lease_s``: how long the claim
    holds off other pollers, see the module's doc); feeds another process
    claimed first, or that stopped being due meanwhile, are skipped.
    """
    rows = await feed_store.due_feeds(db, now_fn(), everything=everything, guild_id=guild_id)
    cycle = _Cycle(
        db,
        fetcher,
        ingest,
        now_fn,
        interval_s,
        logger,
        rng,
        max_failures,
        max_age_s,
        report=PollReport(),
        fulltext=fulltext,
    )
    limit = asyncio.Semaphore(max(1, concurrency))

    async def claim(due: FeedRow) -> FeedRow | None:
        now = now_fn()
        async with transaction(db):
            return await feed_store.claim_feed(
                db,
                due.id,
                now=now,
                lease_until=now + timedelta(seconds=lease_s),
                everything=everything,
            )

    async def guarded(due: FeedRow) -> None:
        async with limit:
            claimed = False
            try:
                row = await claim(due)
                if row is None:
                    return  # another poller's, or paused or removed meanwhile
                claimed = True
                cycle.report.due += 1
                await cycle.poll(row)
            except Exception:  # claiming or recording failed (database trouble)
                if claimed:
                    logger.exception("poll: could not record the outcome for feed %d", due.id)
                else:
                    logger.exception("poll: could not claim feed %d", due.id)
                    cycle.report.due += 1
                cycle.report.failed += 1
                cycle.report.errors.append((due.id, strip_userinfo(due.url), "internal error"))

    await asyncio.gather(*(guarded(row) for row in rows))
    r = cycle.report
    logger.info(
        "poll: due=%d fetched=%d not_modified=%d failed=%d new=%d"
        " pages=%d pages_failed=%d pages_deferred=%d",
        r.due,
        r.fetched,
        r.not_modified,
        r.failed,
        r.new_articles,
        r.pages_fetched,
        r.pages_failed,
        r.pages_deferred,
    )
    return r
