"""The one object the faces (CLI, Discord bot) talk to.

:class:`Newsdesk` owns the database connection and wires the core stages
together: sources -> ingest pipeline (clean, identify, cluster, store),
search, stories and the digest. It knows nothing about Discord or terminals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosqlite

from .config import DigestChannel, Settings
from .digest.build import build_digest
from .digest.models import Digest
from .ingest.fetch import Fetcher, FetchError
from .ingest.netguard import validate_feed_url
from .ingest.parse import ParseError, parse_feed
from .ingest.pipeline import Ingestor, IngestReport
from .ingest.poll import PollReport, poll_due_feeds
from .ingest.sources import (
    Progress,
    SourceOutcome,
    expand_paths,
    ingest_document,
    ingest_file,
    is_url,
)
from .models import Entry, FeedHealth, ParsedFeed
from .search.dates import parse_date_range
from .search.engine import SearchPage, search
from .store import articles as article_store
from .store import feeds as feed_store
from .store import open_db
from .store import stories as story_store
from .stories import StoryClusterer

log = logging.getLogger(__name__)


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
        self, settings: Settings, db: aiosqlite.Connection, *, database: Path | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        self.database = database  # the file behind ``db`` (None: in memory)
        self.clusterer = StoryClusterer(window_hours=settings.cluster_window_hours)
        self.ingestor = Ingestor(db, clusterer=self.clusterer, now=utcnow)

    @classmethod
    async def open(
        cls, settings: Settings, *, database: str | Path | None = None, create: bool = True
    ) -> Newsdesk:
        """Open the store; ``create=False`` refuses a missing file (:class:`NoDatabaseError`)."""
        path = database if database is not None else settings.database
        db = await open_db(path, create=create)
        return cls(settings, db, database=None if str(path) == ":memory:" else Path(path))

    async def close(self) -> None:
        await self.db.close()

    def fetcher(self) -> Fetcher:
        s = self.settings
        return Fetcher(
            user_agent=s.user_agent,
            total_timeout=s.fetch_timeout_seconds,
            max_bytes=s.fetch_max_bytes,
            allow_private=s.allow_private_addresses,
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
        """Ingest files, folders and URLs (feeds or pages); OPML feeds are subscribed.

        Pass ``outcome`` to watch the counts grow: each batch is added to it
        once committed (the CLI reports them if interrupted).
        """
        outcome = outcome if outcome is not None else SourceOutcome()
        specs = list(specs)
        urls = [s for s in specs if is_url(s)]
        paths = [Path(s) for s in specs if not is_url(s)]
        for path in paths:
            if not path.exists():
                outcome.report.fail(str(path), "no such file or folder")
        for path in expand_paths(p for p in paths if p.exists()):
            await ingest_file(self.ingestor, path, outcome=outcome, progress=progress)
        if urls:
            async with self.fetcher() as fetcher:
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
                        )
                    except (FetchError, ParseError, ValueError) as exc:
                        outcome.report.fail(url, str(exc))
        now = utcnow()
        for url, title in outcome.feeds_found:
            await feed_store.add_feed(self.db, url, guild_id=0, title=title, now=now)
        return outcome

    # -- feeds ----------------------------------------------------------

    async def add_feed(
        self, url: str, *, guild_id: int = 0, added_by: int | None = None, check: bool = True
    ) -> FeedHealth:
        """Validate ``url``, try one fetch and parse, then subscribe ``guild_id`` to it."""
        url = url.strip()
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
            self.db, url, guild_id=guild_id, title=title, added_by=added_by, now=utcnow()
        )
        feed = await feed_store.get_feed(self.db, feed_id)
        assert feed is not None
        return feed

    async def remove_feed(self, feed_id: int, *, guild_id: int = 0) -> bool:
        return await feed_store.remove_feed(self.db, feed_id, guild_id=guild_id)

    async def list_feeds(self, *, guild_id: int | None = None) -> list[FeedHealth]:
        return await feed_store.list_feeds(self.db, guild_id=guild_id)

    async def sync_configured_feeds(self) -> int:
        """Subscribe (shared) to every feed named in the settings; returns how many."""
        urls = self.settings.feed_urls()
        now = utcnow()
        for url in urls:
            await feed_store.add_feed(self.db, url, guild_id=0, now=now)
        return len(urls)

    async def _ingest_feed(self, feed_id: int, guild_id: int, parsed: ParsedFeed) -> IngestCounts:
        fallback = parsed.title or (urlsplit(parsed.link).hostname if parsed.link else None)
        report = await self.ingestor.ingest_entries(
            parsed.entries,
            feed_id=feed_id,
            guild_id=guild_id,
            fallback_source=fallback,
            where=f"feed {feed_id}",
        )
        return IngestCounts(report.new, report.updated, report.duplicates)

    async def due_feed_count(self) -> int:
        return len(await feed_store.due_feeds(self.db, utcnow()))

    async def poll_once(self, *, progress: PollProgress | None = None) -> PollReport:
        """Fetch every due feed once (honouring back-off and conditional GET).

        Feeds arrive one outlet at a time, so when anything new came in, the
        young stories are then regrouped together (ids kept; see
        :meth:`StoryClusterer.consolidate`).

        ``progress(feeds_done, articles_stored)`` is called as each feed's
        fetch ends and as each feed's articles are committed.
        """
        ingest = self._ingest_feed
        if progress is not None:
            ingest = _counting_ingest(ingest, progress)
        async with self.fetcher() as fetcher:
            if progress is not None:
                fetcher = _CountingFetcher(fetcher, progress)  # type: ignore[assignment]
            report = await poll_due_feeds(
                self.db,
                fetcher,
                ingest,
                now_fn=utcnow,
                interval_s=self.settings.poll_interval_minutes * 60,
                logger=log,
            )
        if report.new_articles or report.updated:
            window = timedelta(hours=self.settings.cluster_window_hours)
            await self.clusterer.consolidate(self.db, since=utcnow() - window)
        return report

    # -- search and stories ---------------------------------------------

    def parse_dates(self, text: str, *, now: datetime | None = None) -> tuple[datetime, datetime]:
        return parse_date_range(text, tz=self.settings.tz, now=now or utcnow())

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
            now=now or utcnow(),
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
            self.db, channel, day, options=self.settings.digest_options, now=now or utcnow()
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
        return article_store.iter_export(self.database)


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
