"""The one object the faces (CLI, Discord bot) talk to.

:class:`Newsdesk` owns the database connection and wires the core stages
together: sources -> ingest pipeline (clean, identify, cluster, store),
search, stories and the digest. It knows nothing about Discord or terminals.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosqlite

from .config import DigestChannel, Settings, check_fulltext_mode
from .digest.build import build_digest
from .digest.models import Digest
from .ingest.fetch import Fetcher, FetchError
from .ingest.fulltext import FullText
from .ingest.netguard import UnsafeUrlError, validate_feed_url
from .ingest.parse import NotAnArticle, ParseError, parse_feed
from .ingest.pipeline import Ingestor, IngestReport
from .ingest.poll import PollReport, poll_due_feeds
from .ingest.sources import (
    Progress,
    SourceOutcome,
    ingest_document,
    ingest_paths,
    is_url,
)
from .models import Entry, FeedHealth, ParsedFeed
from .search.dates import parse_date_range
from .search.engine import SearchPage, search
from .store import articles as article_store
from .store import database_files, open_db, transaction
from .store import feeds as feed_store
from .store import pages as page_store
from .store import stories as story_store
from .store.db import integrity_problems, rebuild_search_index
from .stories import StoryClusterer

log = logging.getLogger(__name__)

# Page cache rows (validators, failure history) older than this are dropped;
# the text itself stays with its article. Feeds carry items for days, not months.
PAGE_CACHE_DAYS = 30


class FeedError(ValueError):
    """A feed cannot be added: the message says why, for the user."""


@dataclass
class IngestCounts:
    new: int
    updated: int
    duplicates: int


def utcnow() -> datetime:
    return datetime.now(UTC)


class Newsdesk:
    """Core services over one store. Create with :meth:`open`, end with :meth:`close`."""

    def __init__(
        self,
        settings: Settings,
        db: aiosqlite.Connection,
        *,
        database: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.database = database  # the file behind ``db`` (None: in memory)
        self.clock = clock  # the one clock of every service (tests pass a fixed one)
        self.clusterer = StoryClusterer(window_hours=settings.cluster_window_hours)
        self.ingestor = Ingestor(db, clusterer=self.clusterer, now=clock)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        database: str | Path | None = None,
        create: bool = True,
        read_only: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> Newsdesk:
        """Open the store; ``create=False`` refuses a missing file (:class:`NoDatabaseError`);
        ``read_only=True`` (commands that only read) opens it read-only."""
        path = database if database is not None else settings.database
        db = await open_db(path, create=create, read_only=read_only)
        file = None if str(path) == ":memory:" else Path(path)
        return cls(settings, db, database=file, clock=clock)

    async def close(self) -> None:
        await self.db.close()

    # -- the store itself -------------------------------------------------

    async def store_problems(self) -> list[str]:
        """What the file's and the search index's integrity checks find wrong."""
        return await integrity_problems(self.db)

    async def repair_search_index(self) -> None:
        """Rebuild the full-text index from the stored articles."""
        await rebuild_search_index(self.db)

    def fetcher(self) -> Fetcher:
        s = self.settings
        return Fetcher(
            user_agent=s.user_agent,
            total_timeout=s.fetch_timeout_seconds,
            max_bytes=s.fetch_max_bytes,
            allow_private=s.allow_private_addresses,
        )

    def fulltext(self, fetcher: Fetcher) -> FullText:
        """Page fetching for summary-only feed entries, through ``fetcher``.

        One feed's pages get three times the fetch timeout in all (100 pages
        at 2 per host and ~1 s each fit in the default 90 s): a hanging page
        host holds up its own feed that long at most; pages still pending are
        left for the next cycle.
        """
        s = self.settings
        return FullText(
            self.db,
            fetcher,
            mode=s.fulltext,
            now_fn=self.clock,
            logger=log,
            budget_s=3 * s.fetch_timeout_seconds,
        )

    # -- ingest ---------------------------------------------------------

    async def ingest_entries(
        self, entries: Iterable[Entry], *, feed_id: int | None = None, guild_id: int = 0
    ) -> IngestReport:
        return await self.ingestor.ingest_entries(entries, feed_id=feed_id, guild_id=guild_id)

    async def ingest_sources(
        self,
        specs: Iterable[str],
        *,
        progress: Progress | None = None,
        outcome: SourceOutcome | None = None,
    ) -> SourceOutcome:
        """Ingest files, folders and URLs (feeds or pages).

        What is not an article is skipped with a reason (``outcome.skipped``);
        the database in use and its -wal/-shm/-journal files are never read.
        The feeds of an OPML file named directly are subscribed to (each URL
        once); OPML files met inside a folder are only reported. Pass
        ``outcome`` to watch the counts grow: each batch is added to it once
        committed (the CLI reports them if interrupted).
        """
        outcome = outcome if outcome is not None else SourceOutcome()
        specs = list(specs)
        urls = [s for s in specs if is_url(s)]
        paths = [Path(s) for s in specs if not is_url(s)]
        for path in paths:
            if not path.exists():
                outcome.report.fail(str(path), "no such file or folder")
        own_files = [*await database_files(self.db), Path(self.settings.database)]
        await ingest_paths(
            self.ingestor,
            [p for p in paths if p.exists()],
            outcome=outcome,
            progress=progress,
            exclude=own_files,
        )
        if urls:
            async with self.fetcher() as fetcher:
                pages = self.fulltext(fetcher)
                for url in urls:
                    outcome.sources += 1
                    try:
                        await validate_feed_url(
                            url, allow_private=self.settings.allow_private_addresses
                        )
                        result = await fetcher.fetch(url)
                        await ingest_document(
                            self.ingestor,
                            result.body or b"",
                            where=url,
                            url=result.url,
                            content_type=result.content_type,
                            outcome=outcome,
                            progress=progress,
                            pages=pages,
                        )
                    except NotAnArticle as exc:
                        outcome.sources -= 1
                        outcome.skip(url, str(exc))
                    except (FetchError, ParseError, ValueError) as exc:
                        outcome.report.fail(url, str(exc))
        await self._subscribe_opml_feeds(outcome)
        return outcome

    async def _subscribe_opml_feeds(self, outcome: SourceOutcome) -> None:
        """Subscribe to the feeds of OPML files named directly, each URL checked
        as ``feeds add`` checks it; a refused one is a failure with the reason."""
        # Names are not looked up here (an OPML file is often imported offline);
        # the fetcher refuses a private address when it connects.
        accepted: list[tuple[str, str | None]] = []
        for url, title in outcome.distinct_feeds():
            try:
                await validate_feed_url(
                    url, allow_private=self.settings.allow_private_addresses, resolve=False
                )
            except UnsafeUrlError as exc:
                outcome.report.fail(f"OPML feed {url!r}", f"not subscribed: {exc}")
                continue
            accepted.append((url, title))  # stored as written, as `feeds add` does
        kept = {url for url, _title in accepted}
        outcome.feeds_found = [(u, t) for u, t in outcome.feeds_found if u in kept]
        now = self.clock()
        for url, title in accepted:
            await feed_store.add_feed(self.db, url, guild_id=0, title=title, now=now)

    # -- feeds ----------------------------------------------------------

    async def add_feed(
        self,
        url: str,
        *,
        guild_id: int = 0,
        added_by: int | None = None,
        check: bool = True,
        fulltext: str | None = None,
    ) -> FeedHealth:
        """Validate ``url``, try one fetch and parse, then subscribe ``guild_id`` to it.

        ``fulltext`` (auto, always, never) sets the feed's own full-text mode;
        None keeps what it had (a new feed follows NEWSDESK_FULLTEXT).
        """
        url = url.strip()
        if fulltext is not None:
            try:
                fulltext = check_fulltext_mode(fulltext)
            except ValueError as exc:
                raise FeedError(str(exc)) from None
        await validate_feed_url(url, allow_private=self.settings.allow_private_addresses)
        title: str | None = None
        if check:
            async with self.fetcher() as fetcher:
                try:
                    result = await fetcher.fetch(url)
                    parsed = parse_feed(
                        result.body or b"", url=result.url, content_type=result.content_type
                    )
                except FetchError as exc:
                    raise FeedError(f"could not fetch {url}: {exc}") from None
                except ParseError as exc:
                    raise FeedError(f"{url} is not a feed I can read: {exc}") from None
            title = parsed.title
        feed_id = await feed_store.add_feed(
            self.db,
            url,
            guild_id=guild_id,
            title=title,
            added_by=added_by,
            now=self.clock(),
            fulltext=fulltext,
        )
        feed = await feed_store.get_feed(self.db, feed_id)
        assert feed is not None
        return feed

    async def remove_feed(self, feed_id: int, *, guild_id: int = 0) -> bool:
        return await feed_store.remove_feed(self.db, feed_id, guild_id=guild_id)

    async def list_feeds(self, *, guild_id: int | None = None) -> list[FeedHealth]:
        return await feed_store.list_feeds(self.db, guild_id=guild_id)

    async def sync_configured_feeds(self) -> int:
        """Subscribe (shared) to every feed named in the settings; returns how many.

        The settings are the truth for the feeds they list: a feed's
        ``fulltext=`` option is set on its row, and a feed listed without one
        goes back to following NEWSDESK_FULLTEXT.
        """
        specs = self.settings.feed_specs()
        now = self.clock()
        for spec in specs:
            feed_id = await feed_store.add_feed(self.db, spec.url, guild_id=0, now=now)
            await feed_store.set_fulltext(self.db, feed_id, spec.fulltext)
        return len(specs)

    async def _ingest_feed(
        self, feed_id: int, guild_id: int, parsed: ParsedFeed, *, span: list[datetime]
    ) -> IngestCounts:
        fallback = parsed.title or (urlsplit(parsed.link).hostname if parsed.link else None)
        report = await self.ingestor.ingest_entries(
            parsed.entries,
            feed_id=feed_id,
            guild_id=guild_id,
            fallback_source=fallback,
            where=f"feed {feed_id}",
        )
        span.extend(report.stored_times)
        return IngestCounts(report.new, report.updated, report.duplicates)

    async def due_feed_count(self) -> int:
        return len(await feed_store.due_feeds(self.db, self.clock()))

    async def poll_once(self, *, progress: PollProgress | None = None) -> PollReport:
        """Fetch every due feed once (honouring back-off and conditional GET).

        Feeds arrive one outlet at a time, so when anything new came in, the
        stories around it are then regrouped together (ids kept; see
        :meth:`StoryClusterer.consolidate`): those that began within the
        clustering window of the articles this cycle stored, by their own
        publication times, not the wall clock (an archive feed of last
        spring's news is regrouped like today's).

        ``progress(feeds_done, articles_stored)`` is called as each feed's
        fetch ends and as each feed's articles are committed.
        """
        span: list[datetime] = []  # publication times of what this cycle stored
        ingest: Any = functools.partial(self._ingest_feed, span=span)
        if progress is not None:
            ingest = _counting_ingest(ingest, progress)
        async with self.fetcher() as fetcher:
            pages = self.fulltext(fetcher)  # page fetches are not feed fetches: not counted
            if progress is not None:
                fetcher = _CountingFetcher(fetcher, progress)  # type: ignore[assignment]
            report = await poll_due_feeds(
                self.db,
                fetcher,
                ingest,
                now_fn=self.clock,
                interval_s=self.settings.poll_interval_minutes * 60,
                logger=log,
                fulltext=pages,
            )
        if report.pages_fetched or report.pages_failed:
            async with transaction(self.db):
                await page_store.prune_pages(
                    self.db, before=self.clock() - timedelta(days=PAGE_CACHE_DAYS)
                )
        if span:
            window = timedelta(hours=self.settings.cluster_window_hours)
            await self.clusterer.consolidate(
                self.db, since=min(span) - window, until=max(span) + window
            )
        return report

    # -- search and stories ---------------------------------------------

    def parse_dates(self, text: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
        return parse_date_range(text, tz=self.settings.tz, now=now or self.clock())

    async def search(
        self,
        text: str,
        *,
        guild_id: int | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        source: str | None = None,
        limit: int = 10,
        offset: int = 0,
        now: datetime | None = None,
    ) -> SearchPage:
        return await search(
            self.db,
            text,
            tz=self.settings.tz,
            now=now or self.clock(),
            guild_id=guild_id,
            date_from=date_from,
            date_to=date_to,
            source=source,
            limit=limit,
            offset=offset,
        )

    async def stories_between(
        self, start: datetime, end: datetime, *, guild_id: int | None = None, limit: int = 25
    ):
        return await story_store.stories_between(
            self.db, start, end, guild_id=guild_id, limit=limit
        )

    async def latest_stories(self, count: int = 10, *, guild_id: int | None = None):
        return await story_store.latest_stories(self.db, count, guild_id=guild_id)

    async def story(self, story_id: int, *, guild_id: int | None = None):
        return await story_store.get_story(self.db, story_id, guild_id=guild_id)

    async def rebuild_stories(
        self, *, since: datetime | None = None, progress: Callable[[int], None] | None = None
    ):
        """Regroup stories; ``progress(articles)`` after each committed batch."""
        return await self.clusterer.rebuild(self.db, since=since, progress=progress)

    # -- digest ---------------------------------------------------------

    async def build_digest(
        self, channel: DigestChannel, day: date, *, now: datetime | None = None
    ) -> Digest:
        return await build_digest(
            self.db, channel, day, options=self.settings.digest_options, now=now or self.clock()
        )

    async def newest_article_time(self) -> datetime | None:
        return await article_store.newest_published(self.db)

    # -- the archive ----------------------------------------------------

    async def article_count(self, *, since: datetime | None = None) -> int:
        """Articles stored (published at or after ``since``, when given)."""
        return await article_store.count_articles(self.db, since=since)

    async def source_names(self) -> list[str]:
        """Every outlet name in the archive (for "did you mean")."""
        return await article_store.source_names(self.db)

    def export_records(self) -> Iterator[dict[str, Any]]:
        """Every article as a JSON Lines record; synchronous, for a worker thread."""
        if self.database is None:
            raise ValueError("an in-memory store cannot be exported")
        return export_records(self.database)


def export_records(database: Path) -> Iterator[dict[str, Any]]:
    """Every article of the store at ``database`` as a JSON Lines record (read-only, synchronous)."""
    return article_store.iter_export(database)


PollProgress = Callable[[int, int], None]  # (feeds finished, articles stored), increments


def _counting_ingest(ingest: Any, progress: PollProgress) -> Any:
    async def counted(feed_id: int, guild_id: int, parsed: ParsedFeed) -> IngestCounts:
        counts = await ingest(feed_id, guild_id, parsed)
        progress(0, counts.new + counts.updated)  # committed by now
        return counts

    return counted


class _CountingFetcher:
    """A :class:`Fetcher` that reports each finished fetch (success or not)."""

    def __init__(self, fetcher: Fetcher, progress: PollProgress) -> None:
        self._fetcher = fetcher
        self._progress = progress

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._fetcher.fetch(*args, **kwargs)
        finally:
            self._progress(1, 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fetcher, name)
