"""The one object the faces (CLI, Discord bot) talk to.

:class:`Newsdesk` owns the database connection and the clock, and wires the
core stages together: sources -> ingest pipeline (clean, identify, cluster,
store), search, stories and the digest. It knows nothing about Discord or
terminals. The faces never import :mod:`bot.store`: the storage errors they
report (:class:`StoreError` and its kinds, :data:`DriverError`,
:func:`describe_storage_error`) are re-exported here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config import DigestChannel, Settings, check_fulltext_mode
from .database_url import is_postgres_url
from .models import (
    AlertRecord,
    ChannelState,
    CopiedTable,
    Entry,
    FeedHealth,
    OpmlFeed,
    ParsedFeed,
    StoryDetail,
)
from .search.dates import parse_date_range
from .search.engine import SearchPage, search
from .store import DamagedDatabaseError as DamagedDatabaseError  # re-exported for the faces
from .store import DriverError as DriverError
from .store import NoDatabaseError as NoDatabaseError
from .store import StoreError as StoreError
from .store import articles as article_store
from .store import database_files, open_db, transaction
from .store import describe_storage_error as describe_storage_error
from .store import digests as digest_store
from .store import feeds as feed_store
from .store import health as health_store
from .store import pages as page_store
from .store import stories as story_store
from .store.db import integrity_problems, rebuild_search_index, store_files
from .store.dialect import is_postgres

if TYPE_CHECKING:
    # Imported where used: a command that only reads the store (search, digest,
    # export) never loads the fetcher (aiohttp), the parsers and page extraction
    # (trafilatura, lxml, feedparser) or the clusterer.
    from .alerts import AlertReport, Alerts, BreakingStory, RenderFn, SendFn
    from .clustering import RebuildReport, StoryClusterer
    from .delivery import Delivery
    from .digest.models import Digest
    from .ingest.fetch import Fetcher
    from .ingest.fulltext import FullText
    from .ingest.pipeline import Ingestor, IngestReport
    from .ingest.poll import PollReport
    from .ingest.sources import Progress, SourceOutcome
    from .store import Connection

log = logging.getLogger(__name__)

# Page cache rows (validators, failure history) older than this are dropped;
# the text itself stays with its article. Feeds carry items for days, not months.
PAGE_CACHE_DAYS = 30


DISCOVERED_TRIED = 3  # feeds named by a web page that `feeds add` tries, in page order
HEARTBEAT_SECONDS = 60  # the running bot rewrites its heartbeat row this often
HEARTBEAT_STALE_SECONDS = 3 * HEARTBEAT_SECONDS  # older: the bot is not running
GATEWAY_GRACE_SECONDS = 120  # a reconnect shorter than this is not an outage
POLL_STALE_INTERVALS = 3  # no good poll for this many intervals: unhealthy


@dataclass
class HealthReport:
    """``newsdesk health``: ``ok`` and one line per check, worst first."""

    ok: bool
    problems: list[str]
    facts: list[str]


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
        db: Connection,
        *,
        database: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.database = database  # the file behind ``db`` (None: in memory, or PostgreSQL)
        # what was opened: the file, ":memory:" or a PostgreSQL URL (never shown unredacted)
        self.location: Path | str = database if database is not None else ":memory:"
        # The one clock of every service and face (the bot's scheduler and
        # digest commands too): tests pass or assign a fixed one.
        self.clock = clock
        self._poll_lock = asyncio.Lock()

    @functools.cached_property
    def clusterer(self) -> StoryClusterer:
        """The story clusterer (built on first use; assignable, as in tests)."""
        from .clustering import StoryClusterer

        return StoryClusterer(window_hours=self.settings.cluster_window_hours, clock=self.now)

    @functools.cached_property
    def ingestor(self) -> Ingestor:
        """Stores entries once each; built on first use with :attr:`clusterer`."""
        from .ingest.pipeline import Ingestor

        return Ingestor(self.db, clusterer=self.clusterer, now=self.now)

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
        location = database if database is not None else settings.database
        db = await open_db(location, create=create, read_only=read_only)
        in_file = str(location) != ":memory:" and not is_postgres_url(location)
        nd = cls(settings, db, database=Path(location) if in_file else None, clock=clock)
        nd.location = location
        return nd

    async def close(self) -> None:
        await self.db.close()

    def now(self) -> datetime:
        """What :attr:`clock` says now (for parts built once: a later clock still counts)."""
        return self.clock()

    # -- the store itself -------------------------------------------------

    async def store_problems(self) -> list[str]:
        """What the file's and the search index's integrity checks find wrong."""
        return await integrity_problems(self.db)

    async def repair_search_index(self) -> None:
        """Rebuild the full-text index from the stored articles."""
        await rebuild_search_index(self.db)

    def fetcher(self) -> Fetcher:
        from .ingest.fetch import Fetcher

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
        from .ingest.fulltext import FullText

        s = self.settings
        return FullText(
            self.db,
            fetcher,
            mode=s.fulltext,
            now_fn=self.now,
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
        from .ingest.fetch import FetchError
        from .ingest.netguard import validate_feed_url
        from .ingest.parse import NotAnArticle, ParseError
        from .ingest.sources import SourceOutcome, ingest_document, ingest_paths, is_url

        outcome = outcome if outcome is not None else SourceOutcome()
        specs = list(specs)
        urls = [s for s in specs if is_url(s)]
        paths = [Path(s) for s in specs if not is_url(s)]
        for path in paths:
            if not path.exists():
                outcome.report.fail(str(path), "no such file or folder")
        own_files = await database_files(self.db)
        if not is_postgres_url(self.settings.database):
            own_files.append(Path(self.settings.database))
        await ingest_paths(
            self.ingestor,
            [p for p in paths if p.exists()],
            outcome=outcome,
            progress=progress,
            exclude=own_files,
        )
        if urls:
            from .ingest.pipeline import DocumentBatch

            batch = DocumentBatch(self.ingestor, report=outcome.report)
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
                            batch,
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
            await batch.flush()
        await self._subscribe_opml_feeds(outcome)
        # An archive is stored a batch at a time, each batch grouped with the
        # stories before it: regroup what it touched together, as one batch.
        await self._regroup_around(outcome.report.stored_times)
        return outcome

    async def _regroup_around(self, stored: Sequence[datetime]) -> None:
        """Regroup the stories running within the clustering window of ``stored``
        (publication times of just-stored articles); see StoryClusterer.consolidate."""
        if stored:
            window = timedelta(hours=self.settings.cluster_window_hours)
            await self.clusterer.consolidate(
                self.db, since=min(stored) - window, until=max(stored) + window
            )

    async def _subscribe_opml_feeds(self, outcome: SourceOutcome) -> None:
        """Subscribe to the feeds of OPML files named directly, each URL checked
        as ``feeds add`` checks it; a refused one is a failure with the reason."""
        from .ingest.netguard import UnsafeUrlError, validate_feed_url

        # Names are not looked up here (an OPML file is often imported offline);
        # the fetcher refuses a private address when it connects.
        accepted: list[OpmlFeed] = []
        for feed in outcome.distinct_feeds():
            try:
                await validate_feed_url(
                    feed.url, allow_private=self.settings.allow_private_addresses, resolve=False
                )
            except UnsafeUrlError as exc:
                outcome.report.fail(f"OPML feed {feed.url!r}", f"not subscribed: {exc}")
                continue
            accepted.append(feed)  # stored as written, as `feeds add` does
        kept = {feed.url for feed in accepted}
        outcome.feeds_found = [f for f in outcome.feeds_found if f.url in kept]
        now = self.clock()
        async with transaction(self.db):
            for feed in accepted:
                feed_id = await feed_store.add_feed(
                    self.db, feed.url, guild_id=0, title=feed.title, now=now
                )
                if feed.tags:  # the file's categories and folders route the feed
                    await feed_store.set_tags(self.db, feed_id, feed.tags)

    # -- feeds ----------------------------------------------------------

    async def add_feed(
        self,
        url: str,
        *,
        guild_id: int = 0,
        added_by: int | None = None,
        check: bool = True,
        fulltext: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> FeedHealth:
        """Validate ``url``, try one fetch and parse, then subscribe ``guild_id`` to it.

        A web page instead of a feed is searched for the feeds it names
        (``<link rel="alternate">``); the first of them that works is
        subscribed to instead (see :mod:`bot.ingest.discover`).

        ``fulltext`` (auto, always, never) sets the feed's own full-text mode;
        None keeps what it had (a new feed follows NEWSDESK_FULLTEXT).
        ``tags`` (for channels routed with ``tags=``) replace the feed's; None
        keeps them.
        """
        from .ingest.netguard import validate_feed_url

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
                url, parsed = await self._check_feed(fetcher, url)
            title = parsed.title
        feed_id = await feed_store.add_feed(
            self.db,
            url,
            guild_id=guild_id,
            title=title,
            added_by=added_by,
            now=self.clock(),
            fulltext=fulltext,
            resume=True,  # adding a paused feed again means: read it again
        )
        if tags is not None:
            await feed_store.set_tags(self.db, feed_id, tuple(tags))
        feed = await feed_store.get_feed(self.db, feed_id)
        assert feed is not None
        return feed

    async def _check_feed(self, fetcher: Fetcher, url: str) -> tuple[str, ParsedFeed]:
        """Fetch and parse ``url``; a web page that names its feeds gives the first that works.

        Returns the feed's URL (the page's when it is a feed itself) and the parsed feed.
        """
        from .ingest.discover import discover_feeds
        from .ingest.fetch import FetchError
        from .ingest.netguard import validate_feed_url
        from .ingest.parse import ParseError, parse_feed

        try:
            result = await fetcher.fetch(url)
        except FetchError as exc:
            raise FeedError(f"could not fetch {url}: {exc}") from None
        try:
            return url, parse_feed(
                result.body or b"", url=result.url, content_type=result.content_type
            )
        except ParseError as exc:
            problem = f"{url} is not a feed I can read: {exc}"
        candidates = discover_feeds(result.body or b"", base_url=result.url)
        if not candidates:
            raise FeedError(problem)
        reasons = []
        for candidate in candidates[:DISCOVERED_TRIED]:
            try:
                await validate_feed_url(
                    candidate, allow_private=self.settings.allow_private_addresses
                )
                found = await fetcher.fetch(candidate)
                return candidate, parse_feed(
                    found.body or b"", url=found.url, content_type=found.content_type
                )
            except (FetchError, ParseError, ValueError, OSError) as exc:
                reasons.append(f"{candidate}: {exc}")
        raise FeedError(
            f"{url} is a web page; the feeds it names do not work ({'; '.join(reasons)})"[:500]
        )

    async def set_feed_options(
        self, feed_id: int, *, fulltext: str | None = None, tags: Sequence[str] | None = None
    ) -> FeedHealth:
        """Change a subscribed feed's full-text mode and/or tags (None: unchanged)."""
        if fulltext is not None:
            try:
                fulltext = check_fulltext_mode(fulltext)
            except ValueError as exc:
                raise FeedError(str(exc)) from None
        async with transaction(self.db):
            if fulltext is not None:
                await feed_store.set_fulltext(self.db, feed_id, fulltext)
            if tags is not None:
                await feed_store.set_tags(self.db, feed_id, tuple(tags))
        feed = await feed_store.get_feed(self.db, feed_id)
        if feed is None:
            raise FeedError(f"no feed #{feed_id}")
        return feed

    async def remove_feed(self, feed_id: int, *, guild_id: int = 0) -> bool:
        return await feed_store.remove_feed(self.db, feed_id, guild_id=guild_id)

    async def find_feed(self, ref: str, *, guild_id: int | None = 0) -> FeedHealth | None:
        """The feed ``ref`` (an id, ``#id`` or URL) names, as :func:`feed_store.find_feed`."""
        return await feed_store.find_feed(self.db, ref, guild_id=guild_id)

    async def pause_feed(self, feed_id: int) -> FeedHealth | None:
        """Stop polling feed ``feed_id``; its state after, None if there is no such feed."""
        async with transaction(self.db):
            if not await feed_store.pause_feed(self.db, feed_id):
                return None
        return await feed_store.get_feed(self.db, feed_id)

    async def resume_feed(self, feed_id: int) -> FeedHealth | None:
        """Poll a paused (or auto-paused) feed again, at once and with a clean record."""
        async with transaction(self.db):
            if not await feed_store.resume_feed(self.db, feed_id):
                return None
        return await feed_store.get_feed(self.db, feed_id)

    async def list_feeds(self, *, guild_id: int | None = None) -> list[FeedHealth]:
        return await feed_store.list_feeds(self.db, guild_id=guild_id)

    async def feeds_opml(self, *, guild_id: int | None = 0) -> tuple[bytes, int]:
        """The feeds ``guild_id`` reads as OPML (0: the shared ones; None: all); and how many.

        Paused feeds are included: they are still subscriptions.
        """
        from .render.opml import feeds_opml

        feeds = await feed_store.list_feeds(self.db, guild_id=guild_id)
        if guild_id == 0:
            feeds = [f for f in feeds if f.guild_id == 0]
        return feeds_opml(feeds, title="Newsdesk feeds", created=self.clock()), len(feeds)

    async def sync_configured_feeds(self) -> int:
        """Subscribe (shared) to every feed named in the settings; returns how many.

        The settings are the truth for the feeds they list: a feed's
        ``fulltext=`` option is set on its row, and a feed listed without one
        goes back to following NEWSDESK_FULLTEXT; its ``tags=`` replace the
        feed's (none listed: none), its ``name=`` replaces the feed's title.
        """
        specs = self.settings.feed_specs()
        now = self.clock()
        async with transaction(self.db):
            for spec in specs:
                feed_id = await feed_store.add_feed(self.db, spec.url, guild_id=0, now=now)
                await feed_store.set_fulltext(self.db, feed_id, spec.fulltext)
                await feed_store.set_tags(self.db, feed_id, spec.tags or ())
                if spec.name:
                    await feed_store.set_title(self.db, feed_id, spec.name)
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

    async def due_feed_count(self, *, everything: bool = False) -> int:
        return len(await feed_store.due_feeds(self.db, self.clock(), everything=everything))

    async def poll_once(
        self,
        *,
        progress: PollProgress | None = None,
        everything: bool = False,
        guild_id: int | None = None,
    ) -> PollReport:
        """Fetch every due feed once (honouring back-off and conditional GET).

        ``everything``: every feed that is not paused, due or not (``poll
        --all``, ``/newsadmin feeds refresh``); ``guild_id``: only the feeds that guild
        reads. Cycles run one at a time: a poll asked for while the
        scheduled one runs waits for it, so no feed is fetched twice at once.

        Feeds arrive one outlet at a time, so when anything new came in, the
        stories around it are then regrouped together (ids kept; see
        :meth:`StoryClusterer.consolidate`): those that began within the
        clustering window of the articles this cycle stored, by their own
        publication times, not the wall clock (an archive feed of last
        spring's news is regrouped like today's).

        ``progress(feeds_done, articles_stored)`` is called as each feed's
        fetch ends and as each feed's articles are committed.
        """
        async with self._poll_lock:
            return await self._poll(progress, everything=everything, guild_id=guild_id)

    async def _poll(
        self, progress: PollProgress | None, *, everything: bool, guild_id: int | None
    ) -> PollReport:
        from .ingest.poll import poll_due_feeds

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
                now_fn=self.now,
                interval_s=self.settings.poll_interval_minutes * 60,
                logger=log,
                fulltext=pages,
                everything=everything,
                guild_id=guild_id,
            )
        if report.pages_fetched or report.pages_failed:
            async with transaction(self.db):
                await page_store.prune_pages(
                    self.db, before=self.clock() - timedelta(days=PAGE_CACHE_DAYS)
                )
        await self._regroup_around(span)
        return report

    # -- operations -----------------------------------------------------

    async def start_heartbeat(self) -> None:
        """The bot starts: its heartbeat row says so (``newsdesk health`` reads it)."""
        async with transaction(self.db):
            await health_store.start_heartbeat(
                self.db,
                now=self.clock(),
                poll_interval_s=self.settings.poll_interval_minutes * 60,
                pid=os.getpid(),
                process=self.settings.process_name,
                shard_ids=self.settings.shards,
                shard_count=self.settings.shard_count or 0,
            )

    async def heartbeat(self, *, gateway: str | None = None, poll_ok: bool | None = None) -> None:
        """Still alive; ``gateway``: its connection's new state; ``poll_ok``: a cycle ended."""
        async with transaction(self.db):
            await health_store.beat(
                self.db,
                now=self.clock(),
                gateway=gateway,
                poll_ok=poll_ok,
                process=self.settings.process_name,
            )

    async def orphaned_shards(self) -> tuple[frozenset[int], bool]:
        """The shards no live process runs (its heartbeat older than
        ``HEARTBEAT_STALE_SECONDS``: killed, or stuck), and whether this process
        is their heir (the live sharded process with the lowest shard id, so
        one process, not all, takes their digests over). Unsharded: none."""
        count = self.settings.shard_count
        if count is None:
            return frozenset(), False
        now = self.clock()
        live: set[int] = set()
        firsts: list[int] = []
        for hb in await health_store.read_heartbeats(self.db):
            if (now - hb.updated_at).total_seconds() > HEARTBEAT_STALE_SECONDS:
                continue
            if hb.shard_count == 0:
                return frozenset(), False  # an unsharded bot serves every server
            if hb.shard_count == count and hb.shard_ids:
                live.update(hb.shard_ids)
                firsts.append(min(hb.shard_ids))
        live.update(self.settings.shards)
        firsts.append(min(self.settings.shards))
        return frozenset(set(range(count)) - live), min(firsts) == min(self.settings.shards)

    async def channel_guilds(self) -> dict[int, int]:
        """The server each digest channel was last posted for (from the claims)."""
        return await digest_store.channel_guilds(self.db)

    async def poll_and_beat(self) -> PollReport:
        """The bot's poll job: one cycle, then the heartbeat records how it went."""
        report = await self.poll_once()
        await self.heartbeat(poll_ok=report.due == 0 or report.failed < report.due)
        return report

    async def health(self) -> HealthReport:
        """Whether the bot process of these settings (``process_name``: the
        unsharded bot, or the process of these shards) is up, connected and polling."""
        now = self.clock()
        process = self.settings.process_name
        hb = await health_store.read_heartbeat(self.db, process)
        if hb is None:
            if process == "bot":
                return HealthReport(False, ["the bot has never run on this database"], [])
            return HealthReport(
                False, [f"the bot process of {process} has never run on this database"], []
            )
        problems: list[str] = []
        facts = [
            f"bot pid {hb.pid} started {_ago(now, hb.started_at)}",
            f"heartbeat {_ago(now, hb.updated_at)}",
            f"gateway {hb.gateway} since {_ago(now, hb.gateway_since)}",
        ]
        if (now - hb.updated_at).total_seconds() > HEARTBEAT_STALE_SECONDS:
            problems.append(f"no heartbeat since {_ago(now, hb.updated_at)}: is the bot running?")
        down = (now - hb.gateway_since).total_seconds()
        if hb.gateway != "connected" and down > GATEWAY_GRACE_SECONDS:
            problems.append(
                f"not connected to Discord ({hb.gateway} {_ago(now, hb.gateway_since)})"
            )
        limit = POLL_STALE_INTERVALS * hb.poll_interval_s
        if hb.last_poll_ok_at is not None:
            facts.append(f"last successful poll {_ago(now, hb.last_poll_ok_at)}")
        if hb.last_poll_at is not None and hb.last_poll_at != hb.last_poll_ok_at:
            facts.append(f"last poll {_ago(now, hb.last_poll_at)} (every due feed failed)")
        # A bot that just (re)started gets 3 intervals for its first good poll.
        ok_since_start = hb.last_poll_ok_at is not None and hb.last_poll_ok_at >= hb.started_at
        since = hb.last_poll_ok_at if ok_since_start else hb.started_at
        if (now - since).total_seconds() > limit:  # type: ignore[operator]
            what = (
                f"last successful poll {_ago(now, hb.last_poll_ok_at)}"
                if ok_since_start
                else f"no successful poll since the bot started {_ago(now, hb.started_at)}"
            )
            problems.append(f"{what}; polls are due every {hb.poll_interval_s // 60} min")
        return HealthReport(not problems, problems, facts)

    async def backup(self, target: Path) -> int:
        """An online copy of the store at ``target`` (see :func:`health_store.backup_database`)."""
        if self.database is None:
            if is_postgres(self.db):
                raise ValueError(
                    "a PostgreSQL store is backed up with PostgreSQL's own tools "
                    "(pg_dump -Fc DATABASE_URL > newsdesk.dump), or copied to a file "
                    "with `newsdesk db copy`"
                )
            raise ValueError("an in-memory database cannot be backed up")
        return await asyncio.to_thread(health_store.backup_database, self.database, target)

    # -- search and stories ---------------------------------------------

    def parse_dates(
        self, text: str, *, now: datetime | None = None, tz: tzinfo | None = None
    ) -> tuple[datetime, datetime]:
        """``text`` as a UTC range of whole local days in ``tz`` (default NEWSDESK_TIMEZONE)."""
        return parse_date_range(text, tz=tz or self.settings.tz, now=now or self.clock())

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
        tz: tzinfo | None = None,
    ) -> SearchPage:
        """``date:`` in the query is read in ``tz`` (default NEWSDESK_TIMEZONE)."""
        return await search(
            self.db,
            text,
            tz=tz or self.settings.tz,
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
    ) -> list[StoryDetail]:
        return await story_store.stories_between(
            self.db, start, end, guild_id=guild_id, limit=limit
        )

    async def latest_stories(
        self, count: int = 10, *, guild_id: int | None = None
    ) -> list[StoryDetail]:
        return await story_store.latest_stories(self.db, count, guild_id=guild_id)

    async def story(self, story_id: int, *, guild_id: int | None = None) -> StoryDetail | None:
        """One story with its visible articles, and the short summary the digest would show."""
        found = await story_store.get_story(self.db, story_id, guild_id=guild_id)
        if found is not None:
            found.summary = story_summary(found)
        return found

    async def rebuild_stories(
        self, *, since: datetime | None = None, progress: Callable[[int], None] | None = None
    ) -> RebuildReport:
        """Regroup stories; ``progress(articles)`` after each committed batch."""
        return await self.clusterer.rebuild(self.db, since=since, progress=progress)

    # -- digest ---------------------------------------------------------

    async def build_digest(
        self, channel: DigestChannel, day: date, *, now: datetime | None = None
    ) -> Digest:
        from .digest.build import build_digest

        feed_ids = await self.routed_feed_ids(channel) if channel.routed else None
        return await build_digest(
            self.db,
            channel,
            day,
            options=self.settings.digest_options,
            now=now or self.clock(),
            feed_ids=feed_ids,
        )

    @functools.cached_property
    def delivery(self) -> Delivery:
        """Posts digests exactly once per channel and day (its claims age in real
        time, as Discord's nonce window does: see :class:`Delivery`)."""
        from .delivery import Delivery

        return Delivery(self.db)

    async def forbidden_channels(self, *, guild_id: int | None = None) -> list[ChannelState]:
        """Digest channels where Discord refused a post (403), optionally of one guild."""
        return await digest_store.forbidden_channels(self.db, guild_id=guild_id)

    async def clear_forbidden(self, channel_id: int) -> None:
        """Forget a recorded 403 (the permissions look fixed): digests resume there."""
        async with transaction(self.db):
            await digest_store.clear_forbidden(self.db, channel_id)

    # -- breaking-story alerts (see bot.alerts) ---------------------------

    @functools.cached_property
    def alerts(self) -> Alerts:
        """Claims and posts breaking-story alerts exactly once (claims age in real time)."""
        from .alerts import Alerts

        return Alerts(self.db)

    async def due_alerts(self, channel: DigestChannel) -> list[BreakingStory]:
        """The stories that reached ``channel``'s ``alert=N`` outlets today (its local
        day) and are not yet alerted nor in today's digest, within ``alerts_per_day``."""
        from .alerts import due_alerts

        feed_ids = await self.routed_feed_ids(channel) if channel.routed else None
        return await due_alerts(self.db, channel, now=self.clock(), feed_ids=feed_ids)

    async def claim_alert(self, channel: DigestChannel, story: BreakingStory) -> AlertRecord | None:
        """The durable claim on ``story``'s alert in ``channel`` (before posting);
        ``None`` if it was claimed before or the day's cap is reached."""
        from .alerts import local_day

        day, _start = local_day(channel, self.clock())
        return await self.alerts.claim(channel, story, day)

    async def mark_alert_sent(self, channel_id: int, story_id: int, message_id: int) -> None:
        await self.alerts.mark_sent(channel_id, story_id, message_id)

    async def post_alerts(
        self, channel: DigestChannel, *, render: RenderFn, send: SendFn
    ) -> AlertReport:
        """After a poll cycle: settle ``channel``'s pending alert claims, then claim,
        post (``send(payload, nonce)``) and record each due alert."""
        from .alerts import local_day

        day, _start = local_day(channel, self.clock())
        return await self.alerts.post(
            channel, lambda: self.due_alerts(channel), day, render=render, send=send
        )

    async def routed_feed_ids(self, channel: DigestChannel) -> set[int]:
        """The feeds a routed channel (``feeds=``, ``tags=``) takes its stories from.

        ``feeds=`` matches a feed's name (title), URL or id, ignoring case;
        ``tags=`` any of its tags. Only feeds the channel's server reads count.
        """
        wanted_tags = set(channel.tags)
        wanted = set(channel.feeds)
        ids: set[int] = set()
        for feed in await feed_store.list_feeds(self.db, guild_id=channel.guild_id or 0):
            names = {feed.url.casefold(), str(feed.id), f"#{feed.id}"}
            if feed.title:
                names.add(" ".join(feed.title.split()).casefold())
            if names & wanted or wanted_tags.intersection(feed.tags):
                ids.add(feed.id)
        return ids

    async def newest_article_time(self) -> datetime | None:
        return await article_store.newest_published(self.db)

    # -- the archive ----------------------------------------------------

    async def article_count(self, *, since: datetime | None = None) -> int:
        """Articles stored (published at or after ``since``, when given)."""
        return await article_store.count_articles(self.db, since=since)

    async def source_names(self) -> list[str]:
        """Every outlet name in the archive (for "did you mean")."""
        return await article_store.source_names(self.db)

    def export_records(self) -> Generator[dict[str, Any], None, None]:
        """Every article as a JSON Lines record; synchronous, for a worker thread."""
        if is_postgres(self.db):
            return export_records(self.location)
        if self.database is None:
            raise ValueError("an in-memory store cannot be exported")
        return export_records(self.database)


def story_summary(story: StoryDetail) -> str | None:
    """The short summary the digest shows for ``story``: the first that works of
    its lead article's text (the article carrying the headline, else the newest)
    and then the next articles', each body before the publisher's own summary."""
    from .digest.build import SUMMARY_ARTICLES
    from .digest.summary import summarize

    headline = story.headline or ""
    lead = [a for a in story.articles if a.title == headline][:1]
    ordered = [*lead, *(a for a in story.articles if a not in lead)]
    for article in ordered[:SUMMARY_ARTICLES]:
        for text in (article.body, article.summary or ""):
            summary = summarize(headline, text)
            if summary:
                return summary
    return None


def _ago(now: datetime, then: datetime | None) -> str:
    """``3 min ago (2024-06-01 07:00 UTC)``."""
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        span = f"{seconds} s"
    elif seconds < 7200:
        span = f"{seconds // 60} min"
    else:
        span = f"{seconds // 3600} h"
    return f"{span} ago ({then:%Y-%m-%d %H:%M} UTC)"


def export_records(database: Path | str) -> Generator[dict[str, Any], None, None]:
    """Every article of the store at ``database`` as a JSON Lines record (read-only,
    synchronous); closing the generator early closes its connection."""
    if is_postgres_url(database):
        from .store.transfer import iter_export_postgres

        yield from iter_export_postgres(str(database))
        return
    yield from article_store.iter_export(Path(database))


async def copy_database(
    source: str | Path,
    target: str | Path,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> list[CopiedTable]:
    """Copy the store at ``source`` into a new, empty store at ``target`` (a file
    or a PostgreSQL URL, either way) and verify the row counts of every table.

    A target file this creates is removed again when the copy fails, so a
    failed copy leaves nothing behind; a PostgreSQL target is left empty.
    """
    from .store import transfer

    if str(source) == str(target):
        raise StoreError("the source and the target are the same store")
    new_file = None
    if not is_postgres_url(target) and not await asyncio.to_thread(Path(target).exists):
        new_file = Path(target)
    src = await open_db(source, create=False)
    try:
        try:
            dst = await open_db(target, create=True)
        except BaseException:
            _remove_store_files(new_file)
            raise
        try:
            copied = await transfer.copy_store(src, dst, progress=progress)
        except BaseException:
            await dst.close()
            _remove_store_files(new_file)
            raise
        await dst.close()
        return copied
    finally:
        await src.close()


def _remove_store_files(path: Path | None) -> None:
    if path is not None:
        for file in store_files(path):
            file.unlink(missing_ok=True)


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
