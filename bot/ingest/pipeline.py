"""The ingest pipeline: entries -> clean -> identify -> cluster -> store.

One call of :meth:`Ingestor.ingest_entries` writes its whole batch in one
transaction (a feed's new entries land together or not at all). Identity
decides, for each cleaned article, whether it is new, an update of a stored
article (same URL or trustworthy GUID, changed content) or a duplicate
(same URL, GUID or content hash, same content).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import aiosqlite

from ..clean import to_article
from ..models import Article, Entry
from ..outlets import outlet_key
from ..store import transaction

log = logging.getLogger(__name__)

# Cleaning is CPU work; past this many entries it runs in a worker thread so
# the event loop (and the Discord gateway heartbeat) keeps breathing.
_THREAD_THRESHOLD = 50


class Clusterer(Protocol):
    async def assign_batch(
        self, db: aiosqlite.Connection, items: Sequence[tuple[int, Article]]
    ) -> dict[int, int]: ...

    async def forget(self, db: aiosqlite.Connection, article_id: int) -> None: ...


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


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def clean_entries(
    entries: Iterable[Entry], *, fetched_at: datetime, fallback_source: str | None
) -> list[Article | None]:
    return [to_article(e, fetched_at=fetched_at, fallback_source=fallback_source) for e in entries]


class Ingestor:
    """Stores entries once each, keeps the FTS index and stories in step."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        *,
        clusterer: Clusterer | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.clusterer = clusterer
        self.now = now

    async def ingest_entries(
        self,
        entries: Iterable[Entry],
        *,
        feed_id: int | None = None,
        guild_id: int = 0,
        fallback_source: str | None = None,
        where: str = "",
    ) -> IngestReport:
        entries = list(entries)
        fetched_at = self.now()
        if len(entries) > _THREAD_THRESHOLD:
            articles = await asyncio.to_thread(
                clean_entries, entries, fetched_at=fetched_at, fallback_source=fallback_source
            )
        else:
            articles = clean_entries(
                entries, fetched_at=fetched_at, fallback_source=fallback_source
            )
        report = IngestReport()
        ready: list[Article] = []
        for index, article in enumerate(articles):
            if article is None:
                label = entries[index].title or entries[index].url or f"entry {index + 1}"
                report.fail(f"{where}: {label[:80]}" if where else label[:80], "no title or text")
            else:
                ready.append(article)
        if ready:
            async with transaction(self.db):
                await self._store(ready, feed_id=feed_id, guild_id=guild_id, report=report)
        return report

    async def _store(
        self, articles: list[Article], *, feed_id: int | None, guild_id: int, report: IngestReport
    ) -> None:
        known = await self._lookup(articles)
        fresh: list[Article] = []  # to insert; known by placeholder ids -1, -2, ...
        updated: list[tuple[int, Article]] = []
        linked: list[int] = []  # article (or placeholder) ids to link to the feed
        widen: list[int] = []  # stored articles a shared feed now brings
        for article in articles:
            match = _match(known, article)
            if match is None:
                placeholder = -(len(fresh) + 1)
                fresh.append(article)
                known.add(placeholder, article, guild_id)
                linked.append(placeholder)
                continue
            article_id, stored_hash, stored_guild, stored_version = match
            linked.append(article_id)
            if stored_hash == article.content_hash or _version(article) < stored_version:
                # Same content, or an older version of what is stored
                # (feeds list updated entries twice; archives replay).
                report.duplicates += 1
            elif article_id < 0:  # a newer version of an entry earlier in this batch
                fresh[-article_id - 1] = article
                known.add(article_id, article, guild_id)
                report.duplicates += 1
            else:
                if self.clusterer is not None:  # take the old text out of its story
                    await self.clusterer.forget(self.db, article_id)
                await self._update(article_id, article)
                report.updated += 1
                known.add(article_id, article, stored_guild)
                updated.append((article_id, article))
            if guild_id == 0 and stored_guild != 0 and article_id > 0:
                widen.append(article_id)
        ids = await self._insert_many(fresh, guild_id=guild_id)
        report.new += len(ids)
        report.new_ids.extend(ids)
        report.stored_times.extend(a.published_at for a in [*fresh, *(a for _, a in updated)])
        if widen:  # now reached through a shared feed: visible to every server
            await self.db.executemany(
                "UPDATE articles SET guild_id = 0 WHERE id = ?", [(i,) for i in widen]
            )
        if feed_id is not None:
            await self.db.executemany(
                "INSERT OR IGNORE INTO article_feeds (article_id, feed_id) VALUES (?, ?)",
                [(ids[-i - 1] if i < 0 else i, feed_id) for i in dict.fromkeys(linked)],
            )
        if self.clusterer is not None:
            # The whole batch at once: best-first grouping beats arrival order.
            await self.clusterer.assign_batch(self.db, [*zip(ids, fresh, strict=True), *updated])

    async def _lookup(self, articles: list[Article]) -> _Known:
        """Stored articles sharing a URL, GUID or content hash with the batch (one query)."""
        known = _Known()
        columns = (
            "id, url, guid, content_hash, guild_id, COALESCE(updated_at, published_at), source"
        )
        sql = " UNION ".join(
            f"SELECT {columns} FROM articles WHERE {key} IN (SELECT value FROM json_each(?))"  # noqa: S608
            for key in ("url", "guid", "content_hash")
        )
        params = (
            json.dumps([a.url for a in articles if a.url]),
            json.dumps([a.guid for a in articles if a.guid]),
            json.dumps([a.content_hash for a in articles]),
        )
        for row in await self.db.execute_fetchall(sql, params):
            known.put(row[0], row[1], row[2], row[3], row[4], row[5], row[6])
        return known

    async def _insert_many(self, articles: list[Article], *, guild_id: int) -> list[int]:
        """Insert ``articles`` in one statement; their ids, in order.

        Inside the write transaction nobody else inserts, and SQLite gives a
        new row the largest id plus one, so the new ids are the ones above the
        largest before the insert.
        """
        if not articles:
            return []
        if len(articles) == 1:
            rows = await self.db.execute_fetchall(
                f"{_INSERT} RETURNING id", _row(articles[0], self.now(), guild_id)
            )
            return [int(next(iter(rows))[0])]
        (before,) = next(
            iter(await self.db.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM articles"))
        )
        now = self.now()
        await self.db.executemany(_INSERT, [_row(a, now, guild_id) for a in articles])
        rows = await self.db.execute_fetchall(
            "SELECT id FROM articles WHERE id > ? ORDER BY id", (before,)
        )
        ids = [int(r[0]) for r in rows]
        if len(ids) != len(articles):  # would mean a concurrent writer: never commit that
            raise RuntimeError("article ids did not come out in order; batch rolled back")
        return ids

    async def _update(self, article_id: int, a: Article) -> None:
        await self.db.execute(
            "UPDATE articles SET title = ?, body = ?, summary = ?, content_hash = ?, author = ?,"
            " category = COALESCE(?, category), updated_at = ? WHERE id = ?",
            (
                a.title,
                a.body,
                a.summary,
                a.content_hash,
                a.author,
                a.category,
                _ts(a.updated_at),
                article_id,
            ),
        )


_INSERT = (
    "INSERT INTO articles (url, guid, content_hash, title, body, summary, source, author,"
    " category, published_at, updated_at, fetched_at, guild_id, dated)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _row(a: Article, fetched_at: datetime, guild_id: int) -> tuple[object, ...]:
    return (
        a.url,
        a.guid,
        a.content_hash,
        a.title,
        a.body,
        a.summary,
        a.source,
        a.author,
        a.category,
        _ts(a.published_at),
        _ts(a.updated_at),
        _ts(fetched_at),
        guild_id,
        int(a.dated),
    )


_Stored = tuple[int, str, int, int]  # id, content hash, guild id, version (unix time)


def _version(a: Article) -> int:
    """Which of two versions of one article is newer: its update, else publication time."""
    return int((a.updated_at or a.published_at).timestamp())


class _Known:
    """Identity keys of stored (or just-stored) articles, for one batch."""

    def __init__(self) -> None:
        self.by_url: dict[str, _Stored] = {}
        self.by_guid: dict[str, _Stored] = {}
        # content hash -> (stored, outlet key when it has a URL, else None)
        self.by_hash: dict[str, list[tuple[_Stored, str | None]]] = {}

    def put(
        self,
        article_id: int,
        url: str | None,
        guid: str | None,
        content_hash: str,
        guild_id: int,
        version: int,
        source: str,
    ) -> None:
        value = (article_id, content_hash, guild_id, version)
        if url:
            self.by_url[url] = value
        if guid:
            self.by_guid[guid] = value
        outlet = outlet_key(source, article_id) if url else None
        self.by_hash.setdefault(content_hash, []).append((value, outlet))

    def add(self, article_id: int, a: Article, guild_id: int) -> None:
        self.put(article_id, a.url, a.guid, a.content_hash, guild_id, _version(a), a.source)


def _match(known: _Known, a: Article) -> _Stored | None:
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
