"""Story clustering: articles about the same event from any outlet become one story.

Each batch of new articles (a feed's new entries, a chunk of an import, or a
single article) is clustered together with the existing stories it may
belong to, by average-link agglomeration (:mod:`bot.stories.agglomerate`):
the closest pair merges first, so the result does not depend on the order
in which articles arrive. Articles are TF-IDF vectors of title and lead with
names and numbers boosted (:mod:`bot.stories.features`); IDF is learned from
the store as articles arrive. Similarity is damped by the time between the
articles, and candidate stories are found through the ``story_postings``
inverted index inside the time window, never by scanning stories.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from ..models import Article
from ..store import transaction
from . import features as ft
from . import index
from .agglomerate import Node, agglomerate

log = logging.getLogger(__name__)

# Tuned on labelled look-alike events (bench/cluster_eval.py): precision
# holds at 1.0 from 0.175 to 0.2 there; below ~0.17 look-alikes merge.
DEFAULT_THRESHOLD = 0.18
SPAN_FACTOR = 4 / 3  # similarity falls to 0 at this multiple of the window
QUERY_TERMS = 24  # article terms used to look candidates up
POSTING_TERMS = 24  # story terms posted in the inverted index
CENTROID_TERMS = 128  # terms kept in a story's centroid (sum of member vectors)
MAX_CANDIDATES = 8  # stories considered per article
REBUILD_BATCH = 1000  # articles per rebuild transaction
CONSOLIDATE_MAX = 20_000  # articles regrouped at most in one consolidation pass
THREAD_NODES = 64  # batches larger than this are grouped in a worker thread


@dataclass(slots=True)
class RebuildReport:
    """What :meth:`StoryClusterer.rebuild` did."""

    articles: int
    stories_before: int
    stories_after: int

    def __str__(self) -> str:
        return (
            f"{self.articles} article(s) regrouped: {self.stories_before} stories before, "
            f"{self.stories_after} after"
        )


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("published_at must be timezone-aware")
    return int(value.timestamp())


def _source_key(source: str) -> str:
    return source.strip().casefold()


def _text(article: Article) -> str:
    return article.body or article.summary or ""


class StoryClusterer:
    """Groups articles about the same event into stories (see module doc)."""

    def __init__(
        self,
        *,
        window_hours: float = 72.0,
        threshold: float = DEFAULT_THRESHOLD,
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        if window_hours <= 0:
            raise ValueError("window_hours must be positive")
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.window = int(window_hours * 3600)
        self.span = self.window * SPAN_FACTOR
        self.threshold = threshold
        self.max_candidates = max_candidates

    async def assign(self, db: aiosqlite.Connection, article_id: int, article: Article) -> int:
        """Put one just-stored article into a story; returns the story id."""
        return (await self.assign_batch(db, [(article_id, article)]))[article_id]

    async def assign_batch(
        self, db: aiosqlite.Connection, items: Sequence[tuple[int, Article]]
    ) -> dict[int, int]:
        """Put just-stored articles into stories, inside the caller's transaction.

        Returns ``{article id: story id}``. Articles that already belong to a
        story (their text was updated) are taken out of it first; the caller
        should call :meth:`forget` before changing the text, so the old text
        is what gets subtracted.
        """
        if not items:
            return {}
        marks = ",".join("?" * len(items))
        rows = await db.execute_fetchall(
            f"SELECT id FROM articles WHERE story_id IS NOT NULL AND id IN ({marks})",  # noqa: S608
            [article_id for article_id, _ in items],
        )
        for (article_id,) in rows:
            await self.forget(db, article_id)

        counts = [ft.article_counts(a.title, _text(a), a.source) for _, a in items]
        await index.add_documents(db, [c.keys() for c in counts], 1)
        dfs, n_docs = await index.frequencies(db, {t for c in counts for t in c})
        vectors = [ft.article_vector(c, dfs, n_docs) for c in counts]
        times = [_ts(a.published_at) for _, a in items]

        found = {c.story_id: c for c in await self._candidates(db, vectors, times)}
        nodes = [
            Node(dict(vector), 1, at, at, None, [k])
            for k, (vector, at) in enumerate(zip(vectors, times, strict=True))
        ]
        for story in found.values():
            nodes.append(
                Node(
                    dict(story.centroid),
                    max(story.members, 1),
                    story.first_published_at,
                    story.last_published_at,
                    story.story_id,
                )
            )

        if len(nodes) > THREAD_NODES:  # CPU work: keep the event loop (and Discord) responsive
            clusters = await asyncio.to_thread(
                agglomerate, nodes, threshold=self.threshold, span_s=self.span
            )
        else:
            clusters = agglomerate(nodes, threshold=self.threshold, span_s=self.span)
        return await self._write(db, [c for c in clusters if c.members], items, found)

    async def _write(
        self,
        db: aiosqlite.Connection,
        clusters: list[Node],
        items: Sequence[tuple[int, Article]],
        found: dict[int, index.Candidate],
    ) -> dict[int, int]:
        """Store the grouping: new stories, grown stories, their index; a few statements."""
        fresh: list[tuple[Node, dict[str, int], index.StoryValues]] = []
        grown: list[tuple[int, index.StoryValues]] = []
        touched: list[tuple[int, Node, dict[str, int], int]] = []
        for cluster in clusters:
            members = sorted(
                (items[k] for k in cluster.members), key=lambda m: (m[1].published_at, m[0])
            )
            story = found.get(cluster.anchor) if cluster.anchor is not None else None
            sources = dict(story.sources) if story else {}
            for _, article in members:
                key = _source_key(article.source)
                sources[key] = sources.get(key, 0) + 1
            first, last = _ts(members[0][1].published_at), _ts(members[-1][1].published_at)
            category = next((a.category for _, a in members if a.category), None)
            if story is None:
                values = (first, last, len(members), len(sources), members[0][1].title, category)
                fresh.append((cluster, sources, values))
            else:
                values = (
                    min(story.first_published_at, first),
                    max(story.last_published_at, last),
                    story.article_count + len(members),
                    len(sources),
                    story.headline or members[0][1].title,
                    category,
                )
                grown.append((story.story_id, values))
                touched.append((story.story_id, cluster, sources, values[1]))
        ids = await index.insert_stories(db, [values for _, _, values in fresh])
        for story_id, (cluster, sources, values) in zip(ids, fresh, strict=True):
            touched.append((story_id, cluster, sources, values[1]))
        await index.update_stories(db, grown)
        rows, postings = [], []
        for story_id, cluster, sources, last in touched:
            centroid = ft.top_terms(cluster.vector, CENTROID_TERMS)
            rows.append(index.index_row(story_id, centroid, sources, cluster.size))
            terms = ft.top_terms(ft.normalise(centroid), POSTING_TERMS)
            postings.extend(index.posting_rows(story_id, terms, last))
        await index.save_indexes(db, rows, postings)
        assigned = {
            article_id: story_id
            for story_id, cluster, _, _ in touched
            for article_id, _ in (items[k] for k in cluster.members)
        }
        await db.executemany(
            "UPDATE articles SET story_id = ? WHERE id = ?",
            [(story_id, article_id) for article_id, story_id in assigned.items()],
        )
        return assigned

    async def _candidates(
        self, db: aiosqlite.Connection, vectors: list[dict[str, float]], times: list[int]
    ) -> list[index.Candidate]:
        """Stories sharing salient terms with each article inside its window.

        For each article, the ``max_candidates`` stories with the largest
        overlap (query weight times posting weight) whose postings are recent
        enough; one posting lookup serves the whole batch.
        """
        queries = [ft.top_terms(v, QUERY_TERMS) for v in vectors]
        lists = await index.postings(db, {t for q in queries for t in q}, min(times) - self.window)
        if not lists:
            return []
        wanted: set[int] = set()
        for query, at in zip(queries, times, strict=True):
            overlap: dict[int, float] = {}
            since = at - self.window
            for term, weight in query.items():
                for story_id, posted, posted_at in lists.get(term, ()):
                    if posted_at >= since:
                        overlap[story_id] = overlap.get(story_id, 0.0) + weight * posted
            best = heapq.nlargest(self.max_candidates, overlap.items(), key=lambda kv: kv[1])
            wanted.update(story_id for story_id, _ in best)
        latest = max(times) + self.window
        return [
            story
            for story in await index.load_candidates(db, wanted)
            if story.first_published_at <= latest
        ]

    async def forget(self, db: aiosqlite.Connection, article_id: int) -> None:
        """Take an article out of its story (before it is deleted or its text changes).

        The article's current text is what gets subtracted from the story's
        centroid. A story left without articles is deleted.
        """
        rows = await db.execute_fetchall(
            "SELECT title, body, summary, source, story_id, published_at FROM articles"
            " WHERE id = ?",
            (article_id,),
        )
        row = next(iter(rows), None)
        if row is None or row[4] is None:
            return
        title, body, summary, source, story_id, _published = row
        await index.set_article_story(db, article_id, None)
        counts = ft.article_counts(title, body or summary or "", source)
        dfs, n_docs = await index.frequencies(db, counts)
        await index.add_documents(db, [counts.keys()], -1)
        story = await index.load_index(db, story_id)
        count, first, last = next(
            iter(
                await db.execute_fetchall(
                    "SELECT COUNT(*), MIN(published_at), MAX(published_at) FROM articles"
                    " WHERE story_id = ?",
                    (story_id,),
                )
            )
        )
        if count == 0 or story is None:
            await db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            return
        centroid = dict(story.centroid)
        ft.add_into(centroid, ft.article_vector(counts, dfs, n_docs), -1.0)
        sources = dict(story.sources)
        key = _source_key(source)
        sources[key] = sources.get(key, 0) - 1
        if sources[key] <= 0:
            del sources[key]
        headline = story.headline
        if headline == title:
            (headline,) = next(
                iter(
                    await db.execute_fetchall(
                        "SELECT title FROM articles WHERE story_id = ? ORDER BY published_at, id LIMIT 1",
                        (story_id,),
                    )
                )
            )
        values = (first, last, count, max(len(sources), 1), headline, None)
        await index.update_stories(db, [(story_id, values)])
        await index.clear_postings(db, story_id)
        terms = ft.top_terms(ft.normalise(centroid), POSTING_TERMS)
        await index.save_indexes(
            db,
            [index.index_row(story_id, centroid, sources, max(story.members - 1, 1))],
            index.posting_rows(story_id, terms, last),
        )

    async def consolidate(self, db: aiosqlite.Connection, *, since: datetime) -> int:
        """Regroup the young stories best-first, keeping their ids; returns articles moved.

        Articles arriving one at a time (a poll brings each outlet separately)
        are grouped in arrival order, and an early wrong merge cannot be undone
        by later arrivals. This pass takes every story whose first article was
        published since ``since`` and regroups their articles together, as a
        batch import would. Each new group keeps the id of the old story it
        shares most articles with, so links and digest history stay valid; a
        story that disappears hands its digest history to the group holding
        most of its articles. Runs in its own transaction.
        """
        async with transaction(db):
            rows = await db.execute_fetchall(
                "SELECT a.id, a.title, a.body, a.summary, a.source, a.published_at,"
                " a.story_id, a.category FROM articles AS a JOIN stories AS s"
                " ON s.id = a.story_id WHERE s.first_published_at >= ?"
                " ORDER BY a.published_at, a.id",
                (_ts(since),),
            )
            if len(rows) > CONSOLIDATE_MAX:
                log.warning(
                    "stories not consolidated: %d young articles, more than %d",
                    len(rows),
                    CONSOLIDATE_MAX,
                )
                return 0
            if len(rows) < 2:
                return 0
            counts = [ft.article_counts(r[1], r[2] or r[3] or "", r[4]) for r in rows]
            dfs, n_docs = await index.frequencies(db, {t for c in counts for t in c})
            nodes = [
                Node(ft.article_vector(c, dfs, n_docs), 1, r[5], r[5], None, [k])
                for k, (c, r) in enumerate(zip(counts, rows, strict=True))
            ]
            if len(nodes) > THREAD_NODES:
                clusters = await asyncio.to_thread(
                    agglomerate, nodes, threshold=self.threshold, span_s=self.span
                )
            else:
                clusters = agglomerate(nodes, threshold=self.threshold, span_s=self.span)
            old: dict[int, set[int]] = {}
            for k, r in enumerate(rows):
                old.setdefault(r[6], set()).add(k)
            if {frozenset(m) for m in old.values()} == {frozenset(c.members) for c in clusters}:
                return 0
            return await self._regroup(db, rows, clusters, old)

    async def _regroup(
        self,
        db: aiosqlite.Connection,
        rows: list[Any],
        clusters: list[Node],
        old: dict[int, set[int]],
    ) -> int:
        """Give each new group an old story id where it can and rewrite what changed."""
        overlaps = sorted(
            (
                (len(old[story_id] & set(c.members)), story_id, n)
                for n, c in enumerate(clusters)
                for story_id in {rows[k][6] for k in c.members}
            ),
            reverse=True,
        )
        owner: dict[int, int] = {}  # cluster index -> old story id
        taken: set[int] = set()
        for _, story_id, n in overlaps:
            if n not in owner and story_id not in taken:
                owner[n], taken = story_id, taken | {story_id}
        fresh = [n for n in range(len(clusters)) if n not in owner]
        values: dict[int, index.StoryValues] = {}
        outlets: dict[int, dict[str, int]] = {}
        for n, cluster in enumerate(clusters):
            members = [rows[k] for k in sorted(cluster.members)]  # rows are in published order
            sources = outlets[n] = {}
            for r in members:
                sources[_source_key(r[4])] = sources.get(_source_key(r[4]), 0) + 1
            category = next((r[7] for r in members if r[7]), None)
            values[n] = (
                members[0][5],
                members[-1][5],
                len(members),
                len(sources),
                members[0][1],
                category,
            )
        new_ids = await index.insert_stories(db, [values[n] for n in fresh])
        owner.update(zip(fresh, new_ids, strict=True))
        moved = [
            (owner[n], rows[k][0])
            for n, cluster in enumerate(clusters)
            for k in cluster.members
            if rows[k][6] != owner[n]
        ]
        changed = {n for n, c in enumerate(clusters) if set(c.members) != old.get(owner[n])}
        gone = set(old) - set(owner.values())
        heir = {}  # a vanished story's digest history goes where most of its articles went
        for story_id in gone:
            where = Counter(
                owner[n]
                for n, c in enumerate(clusters)
                for k in c.members
                if rows[k][6] == story_id
            )
            heir[story_id] = where.most_common(1)[0][0]
        await db.executemany(
            "INSERT OR IGNORE INTO digest_items (channel_id, story_id, digest_date, source_count)"
            " SELECT channel_id, ?, digest_date, source_count FROM digest_items WHERE story_id = ?",
            [(to, story_id) for story_id, to in heir.items()],
        )
        await db.executemany("UPDATE articles SET story_id = ? WHERE id = ?", moved)
        await db.executemany("DELETE FROM stories WHERE id = ?", [(i,) for i in gone])
        await index.update_stories(db, [(owner[n], values[n]) for n in changed])
        await db.executemany(
            "DELETE FROM story_postings WHERE story_id = ?", [(owner[n],) for n in changed]
        )
        index_rows, postings = [], []
        for n in changed:
            cluster, story_id = clusters[n], owner[n]
            centroid = ft.top_terms(cluster.vector, CENTROID_TERMS)
            index_rows.append(index.index_row(story_id, centroid, outlets[n], cluster.size))
            terms = ft.top_terms(ft.normalise(centroid), POSTING_TERMS)
            postings.extend(index.posting_rows(story_id, terms, int(cluster.last)))
        await index.save_indexes(db, index_rows, postings)
        log.info(
            "stories consolidated: %d article(s) moved, %d stories changed, %d new, %d merged away",
            len(moved),
            len(changed),
            len(fresh),
            len(gone),
        )
        return len(moved)

    async def rebuild(
        self,
        db: aiosqlite.Connection,
        *,
        since: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RebuildReport:
        """Recompute stories for articles published since ``since`` (all when None).

        Runs in its own transactions (one to clear, then batches of
        ``REBUILD_BATCH`` articles in published order). Must not be called
        inside an open transaction.
        """
        stories_before = await _count(db, "SELECT COUNT(*) FROM stories")
        start = -(2**62) if since is None else _ts(since)
        async with transaction(db):
            # Remember which articles each channel was already sent, so the
            # rebuilt stories keep that history (digest_items cascade away).
            await db.execute("DROP TABLE IF EXISTS temp.sent_articles")
            await db.execute(
                "CREATE TEMP TABLE sent_articles AS SELECT d.channel_id, d.digest_date,"
                " d.source_count, a.id AS article_id FROM digest_items AS d"
                " JOIN articles AS a ON a.story_id = d.story_id WHERE a.published_at >= ?",
                (start,),
            )
            if since is None:
                await index.clear_all(db)
            else:
                async with db.execute(
                    "SELECT id FROM articles WHERE published_at >= ? AND story_id IS NOT NULL"
                    " ORDER BY published_at DESC, id DESC",
                    (start,),
                ) as cur:
                    ids = [r[0] for r in await cur.fetchall()]
                for article_id in ids:
                    await self.forget(db, article_id)
        done = 0
        cursor = (start, -1)
        while True:
            batch = await _article_batch(db, cursor, REBUILD_BATCH)
            if not batch:
                break
            async with transaction(db):
                await self.assign_batch(db, batch)
            done += len(batch)
            if progress is not None:  # articles regrouped and committed
                progress(len(batch))
            last_id, last_article = batch[-1]
            cursor = (_ts(last_article.published_at), last_id)
        async with transaction(db):
            await db.execute(
                "INSERT OR IGNORE INTO digest_items (channel_id, story_id, digest_date,"
                " source_count) SELECT s.channel_id, a.story_id, s.digest_date,"
                " MAX(s.source_count) FROM temp.sent_articles AS s"
                " JOIN articles AS a ON a.id = s.article_id WHERE a.story_id IS NOT NULL"
                " GROUP BY s.channel_id, a.story_id, s.digest_date"
            )
            await db.execute("DROP TABLE temp.sent_articles")
        stories_after = await _count(db, "SELECT COUNT(*) FROM stories")
        return RebuildReport(
            articles=done, stories_before=stories_before, stories_after=stories_after
        )


async def _count(db: aiosqlite.Connection, sql: str) -> int:
    async with db.execute(sql) as cur:
        (value,) = await cur.fetchone()
    return int(value)


async def _article_batch(
    db: aiosqlite.Connection, after: tuple[int, int], size: int
) -> list[tuple[int, Article]]:
    """Articles after ``(published_at, id)`` in published order."""
    async with db.execute(
        "SELECT id, title, body, url, guid, source, author, category, published_at,"
        " updated_at, summary, content_hash FROM articles"
        " WHERE (published_at, id) > (?, ?) ORDER BY published_at, id LIMIT ?",
        (*after, size),
    ) as cur:
        rows = await cur.fetchall()
    out = []
    for r in rows:
        article = Article(
            title=r[1],
            body=r[2],
            url=r[3],
            guid=r[4],
            source=r[5],
            author=r[6],
            category=r[7],
            published_at=datetime.fromtimestamp(r[8], UTC),
            updated_at=None if r[9] is None else datetime.fromtimestamp(r[9], UTC),
            summary=r[10],
            content_hash=r[11],
        )
        out.append((r[0], article))
    return out
