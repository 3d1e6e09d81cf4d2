"""The ingest pipeline: entries -> clean -> identify -> cluster -> store.

One call of :meth:`Ingestor.ingest_entries` writes its whole batch in one
transaction (a feed's new entries land together or not at all). Identity
decides, for each cleaned article, whether it is new, an update of a stored
article (same URL or trustworthy GUID, changed content) or a duplicate
(same URL, GUID or content hash, same content).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..clean import to_article
from ..models import Article, ArticleKey, ClusterPlan, Entry
from ..outlets import outlet_key
from ..store import articles as article_store
from ..store import clusters as cluster_store
from ..store.generation import write_planned
from ..stories.planner import as_member

if TYPE_CHECKING:
    from ..clustering import StoryClusterer
    from ..store import Connection

log = logging.getLogger(__name__)

# Cleaning is CPU work; past this many entries it runs in a worker thread so
# the event loop (and the Discord gateway heartbeat) keeps breathing.
_THREAD_THRESHOLD = 50


@dataclass
class IngestReport:
    """What one ingest did: counts plus the reason of every failure."""

    new: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    new_ids: list[int] = field(default_factory=list)
    stored_times: list[datetime] = field(default_factory=list)  # of new and updated articles

    def add(self, other: IngestReport) -> None:
        self.new += other.new
        self.updated += other.updated
        self.duplicates += other.duplicates
        self.failed += other.failed
        self.errors.extend(other.errors)
        self.new_ids.extend(other.new_ids)
        self.stored_times.extend(other.stored_times)

    def fail(self, where: str, reason: str) -> None:
        self.failed += 1
        self.errors.append((where, reason))


def clean_entries(
    entries: Iterable[Entry], *, fetched_at: datetime, fallback_source: str | None
) -> list[Article | None]:
    return [to_article(e, fetched_at=fetched_at, fallback_source=fallback_source) for e in entries]


def usable(
    entries: list[Entry], articles: list[Article | None], *, where: str, report: IngestReport
) -> list[Article]:
    """The cleaned ``articles`` (one per entry), each unusable entry a failure in ``report``."""
    ready: list[Article] = []
    for index, article in enumerate(articles):
        if article is None:
            label = entries[index].title or entries[index].url or f"entry {index + 1}"
            report.fail(f"{where}: {label[:80]}" if where else label[:80], "no title or text")
        else:
            ready.append(article)
    return ready


@dataclass
class _Batch:
    """What one batch will write: decided by identity, grouped by the clusterer."""

    fresh: list[Article] = field(default_factory=list)  # placeholders -1, -2, ...
    updated: dict[int, Article] = field(default_factory=dict)
    linked: list[int] = field(default_factory=list)  # article (or placeholder) ids
    widen: list[int] = field(default_factory=list)  # stored articles a shared feed now brings
    updates: int = 0
    duplicates: int = 0
    stories: ClusterPlan | None = None
    new_ids: list[int] = field(default_factory=list)  # once written


class Ingestor:
    """Stores entries once each, keeps the FTS index and stories in step.

    A batch is planned with no transaction open (identity lookups, story
    clustering) and written in one short transaction, which first checks
    that no other writer stored articles or stories meanwhile (else the batch
    is planned again): see :mod:`bot.store.generation`.
    """

    def __init__(
        self,
        db: Connection,
        *,
        clusterer: StoryClusterer | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.clusterer = clusterer
        self.now = now

    async def clean(
        self, entries: list[Entry], *, fallback_source: str | None = None
    ) -> list[Article | None]:
        """Each entry cleaned into an article (None: nothing usable), for
        :meth:`ingest_entries`. Also counts the articles' terms for the
        clusterer, so the step can run ahead, in a worker thread, while the
        previous batch is planned and written."""
        fetched_at = self.now()
        if len(entries) > _THREAD_THRESHOLD:
            return await asyncio.to_thread(self._prepare, entries, fetched_at, fallback_source)
        return self._prepare(entries, fetched_at, fallback_source)

    def _prepare(
        self, entries: list[Entry], fetched_at: datetime, fallback_source: str | None
    ) -> list[Article | None]:
        articles = clean_entries(entries, fetched_at=fetched_at, fallback_source=fallback_source)
        if self.clusterer is not None:
            self.clusterer.count_terms([a for a in articles if a is not None])
        return articles

    async def ingest_entries(
        self,
        entries: Iterable[Entry],
        *,
        feed_id: int | None = None,
        guild_id: int = 0,
        fallback_source: str | None = None,
        where: str = "",
        cleaned: list[Article | None] | None = None,
    ) -> IngestReport:
        """Store ``entries`` (``cleaned``: what :meth:`clean` made of them already)."""
        entries = list(entries)
        articles = (
            cleaned
            if cleaned is not None
            else await self.clean(entries, fallback_source=fallback_source)
        )
        report = IngestReport()
        ready = usable(entries, articles, where=where, report=report)
        report.add(await self.store_articles(ready, feed_id=feed_id, guild_id=guild_id))
        return report

    async def store_articles(
        self, ready: list[Article], *, feed_id: int | None = None, guild_id: int = 0
    ) -> IngestReport:
        """Store cleaned articles in one batch (one transaction, or nothing)."""
        report = IngestReport()
        if ready:
            batch = await write_planned(
                self.db,
                lambda: self._plan(ready, guild_id=guild_id),
                lambda planned: self._write(planned, feed_id=feed_id, guild_id=guild_id),
            )
            assert batch is not None
            report.new += len(batch.new_ids)
            report.new_ids.extend(batch.new_ids)
            report.updated += batch.updates
            report.duplicates += batch.duplicates
            report.stored_times.extend(
                a.published_at for a in [*batch.fresh, *batch.updated.values()]
            )
        return report

    async def _plan(self, articles: list[Article], *, guild_id: int) -> _Batch:
        """Decide what each article is (new, update, duplicate) and group them; reads only."""
        known = _Known()
        for key in await article_store.identity_keys(self.db, articles):
            known.put(key)
        batch = _Batch()
        for article in articles:
            match = _match(known, article)
            if match is None:
                placeholder = -(len(batch.fresh) + 1)
                batch.fresh.append(article)
                known.add(placeholder, article, guild_id)
                batch.linked.append(placeholder)
                continue
            batch.linked.append(match.id)
            if match.content_hash == article.content_hash or _version(article) < match.version:
                # Same content, or an older version of what is stored
                # (feeds list updated entries twice; archives replay).
                batch.duplicates += 1
            elif match.id < 0:  # a newer version of an entry earlier in this batch
                batch.fresh[-match.id - 1] = article
                known.add(match.id, article, guild_id)
                batch.duplicates += 1
            else:
                batch.updated[match.id] = article
                batch.updates += 1
                known.add(match.id, article, match.guild_id)
            if guild_id == 0 and match.guild_id != 0 and match.id > 0:
                batch.widen.append(match.id)
        if self.clusterer is not None:
            # The whole batch at once: best-first grouping beats arrival order.
            # Updated articles leave their story with the text stored now.
            items = [as_member(-(k + 1), a) for k, a in enumerate(batch.fresh)]
            items += [as_member(i, a) for i, a in batch.updated.items()]
            batch.stories = await self.clusterer.plan(self.db, items)
        return batch

    async def _write(self, batch: _Batch, *, feed_id: int | None, guild_id: int) -> _Batch:
        ids = await article_store.insert_articles(
            self.db, batch.fresh, fetched_at=self.now(), guild_id=guild_id
        )
        placeholders = {-(k + 1): article_id for k, article_id in enumerate(ids)}
        await article_store.update_articles(self.db, batch.updated)
        if batch.widen:  # now reached through a shared feed: visible to every server
            await article_store.share(self.db, batch.widen)
        if feed_id is not None:
            await article_store.link_feed(
                self.db, feed_id, [placeholders.get(i, i) for i in dict.fromkeys(batch.linked)]
            )
        if batch.stories is not None:
            await cluster_store.apply_plan(self.db, batch.stories, placeholders)
        batch.new_ids = ids
        return batch


# Articles per write when importing (a JSON Lines archive, a folder's files).
# A write plans its stories (candidate lookups, grouping), looks up identities
# and commits once: a fixed cost (~5 ms) whatever it holds, and each candidate
# story is rewritten once per write that touches it, so bigger batches cost less
# per article (10,000 real-shaped articles: 800 took 16% less CPU than 400; of
# the synthetic corpus, 400 took 12% less than 200). A write still holds the lock
# a fraction of a second (longest 0.34 s for 800 articles, bench writers), and a
# batch's largest group stays well under DENSE_NODES (bot.stories.agglomerate)
# even on one topic (at 1,600 it passed it: 0.17x the mixed rate).
IMPORT_BATCH = 800


class DocumentBatch:
    """The cleaned articles of several documents, stored about ``size`` at a time.

    :meth:`add` cleans a document's entries (its unusable ones are failures in
    ``report`` at once), first storing what is pending when the document would
    take it past ``size`` articles, and stores what is pending once it holds
    ``size``; :meth:`flush` stores the rest. A document's articles are never
    split between two transactions (a batch holds at most ``size`` articles, or
    one document's), and a batch is grouped into stories as one (best-first
    over the whole batch, as an archive's batch is). ``report`` gets each
    batch's counts once it is committed.
    """

    def __init__(
        self,
        ingestor: Ingestor,
        *,
        report: IngestReport,
        guild_id: int = 0,
        size: int | None = None,
    ) -> None:
        self.ingestor = ingestor
        self.report = report
        self.guild_id = guild_id
        self.size = IMPORT_BATCH if size is None else size
        self._pending: list[Article] = []

    async def add(
        self, entries: Iterable[Entry], *, fallback_source: str | None = None, where: str = ""
    ) -> None:
        entries = list(entries)
        articles = await self.ingestor.clean(entries, fallback_source=fallback_source)
        ready = usable(entries, articles, where=where, report=self.report)
        if len(self._pending) + len(ready) > self.size:
            await self.flush()
        self._pending += ready
        if len(self._pending) >= self.size:
            await self.flush()

    async def flush(self) -> None:
        """Store what is pending (nothing pending: nothing to do)."""
        pending, self._pending = self._pending, []
        if pending:
            self.report.add(await self.ingestor.store_articles(pending, guild_id=self.guild_id))


def _version(a: Article) -> int:
    """Which of two versions of one article is newer: its update, else publication time."""
    return int((a.updated_at or a.published_at).timestamp())


class _Known:
    """Identity keys of stored (or just-planned) articles, for one batch."""

    def __init__(self) -> None:
        self.by_url: dict[str, ArticleKey] = {}
        self.by_guid: dict[str, ArticleKey] = {}
        # content hash -> (stored, outlet key when it has a URL, else None)
        self.by_hash: dict[str, list[tuple[ArticleKey, str | None]]] = {}

    def put(self, key: ArticleKey) -> None:
        if key.url:
            self.by_url[key.url] = key
        if key.guid:
            self.by_guid[key.guid] = key
        outlet = outlet_key(key.source, key.id) if key.url else None
        self.by_hash.setdefault(key.content_hash, []).append((key, outlet))

    def add(self, article_id: int, a: Article, guild_id: int) -> None:
        self.put(
            ArticleKey(
                id=article_id,
                url=a.url,
                guid=a.guid,
                content_hash=a.content_hash,
                guild_id=guild_id,
                version=_version(a),
                source=a.source,
            )
        )


def _match(known: _Known, a: Article) -> ArticleKey | None:
    """The stored article ``a`` is a version or a copy of, if any.

    Same URL or trustworthy GUID: the same article. Same content: a copy
    when either has no URL (a file, a re-imported export) or both come from
    one outlet (a second address for one page); the same text at two outlets
    (a syndicated wire story, a bare headline) is two outlets' coverage.
    """
    if a.url and a.url in known.by_url:
        return known.by_url[a.url]
    if a.guid and a.guid in known.by_guid:
        return known.by_guid[a.guid]
    outlet = outlet_key(a.source, 0) if a.url else None
    for stored, stored_outlet in known.by_hash.get(a.content_hash, ()):
        if outlet is None or stored_outlet is None or outlet == stored_outlet:
            return stored
    return None
