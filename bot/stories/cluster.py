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
from ..outlets import outlet_key
from ..store import stories as story_store
from ..store import transaction
from . import features as ft
from . import index
from .agglomerate import Node, agglomerate

log = logging.getLogger(__name__)

# Chosen on the ECB+ development set, which pairs look-alike events
# (bench/stories_eval.py): on full text pairwise precision holds at 1.0 from
# 0.17 to 0.2 while recall falls as the threshold rises (strays joining their
# story afterwards win most of it back); below 0.17 one pair of look-alike
# events merges. 0.18 keeps a margin on both sides, and keeps the precision of
# headline + first sentence above 0.95.
DEFAULT_THRESHOLD = 0.18
SPAN_FACTOR = 4 / 3  # similarity falls to 0 at this multiple of the window
QUERY_TERMS = 24  # article terms used to look candidates up
POSTING_TERMS = 24  # story terms posted in the inverted index
CENTROID_TERMS = 128  # terms kept in a story's centroid (sum of member vectors)
GRAM_TERMS = 256  # 4-grams kept in a story's gram centroid (short members only)
MAX_CANDIDATES = 8  # stories considered per article
REBUILD_BATCH = 200  # articles per rebuild transaction (short: other writers wait for it)
CONSOLIDATE_MAX = 20_000  # articles regrouped at most in one consolidation pass
THREAD_NODES = 64  # batches larger than this are grouped in a worker thread
# An undated story (no member has a date) posts its terms as if it were this
# much younger than its last article was first seen, so dated coverage of
# the event published up to a month later still finds it; after that it
# ages out of the candidate lookup like any other story.
UNDATED_HORIZON = 30 * 24 * 3600
ANYTIME_POSTINGS = 500  # newest postings per term read for an undated article


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


def _article_node(
    k: int, vector: dict[str, float], at: int, dated: bool, title: str, text: str
) -> Node:
    """The clustering node of one article (its 4-grams only when it is short)."""
    short = ft.shortness(title, text)
    grams = ft.gram_vector(vector) if short > 0.0 else {}
    return Node(dict(vector), 1, at, at, None, [k], dated=dated, grams=grams, short=short)


def _index_row(
    story_id: int, centroid: dict[str, float], sources: dict[str, int], cluster: Node
) -> tuple[object, ...]:
    grams = ft.top_terms(cluster.grams, GRAM_TERMS)
    return index.index_row(story_id, centroid, sources, cluster.size, grams, cluster.short)


def _posted_at(last: int, dated: bool) -> int:
    """The time a story's postings carry (see UNDATED_HORIZON)."""
    return last if dated else last + UNDATED_HORIZON


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
        dated = [a.dated for _, a in items]

        found = {c.story_id: c for c in await self._candidates(db, vectors, times, dated)}
        nodes = [
            _article_node(k, vector, at, d, a.title, _text(a))
            for k, (vector, at, d, (_, a)) in enumerate(
                zip(vectors, times, dated, items, strict=True)
            )
        ]
        for story in found.values():
            nodes.append(
                Node(
                    dict(story.centroid),
                    max(story.members, 1),
                    story.first_published_at,
                    story.last_published_at,
                    story.story_id,
                    dated=story.dated,
                    grams=story.grams,
                    short=story.short,
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
        """Store the grouping: new stories, grown stories, their index; a few statements.

        A story's times come from its dated articles; its undated articles
        are placed at its latest dated time (they take the story's time for
        ranking and digest windows). A story with no dated article keeps the
        times its articles were first seen.
        """
        fresh: list[tuple[Node, dict[str, int], index.StoryValues]] = []
        grown: list[tuple[int, index.StoryValues]] = []
        touched: list[tuple[int, Node, dict[str, int], int]] = []
        placed: list[tuple[int, int]] = []  # (undated article id, time it takes)
        now_dated: list[tuple[int, int]] = []  # (undated story id, time) gaining a date
        for cluster in clusters:
            members = sorted(
                (items[k] for k in cluster.members), key=lambda m: (m[1].published_at, m[0])
            )
            story = found.get(cluster.anchor) if cluster.anchor is not None else None
            sources = dict(story.sources) if story else {}
            for article_id, article in members:
                key = outlet_key(article.source, article_id)
                sources[key] = sources.get(key, 0) + 1
            times = [_ts(a.published_at) for _, a in members if a.dated]
            if story is not None and story.dated:
                times += [story.first_published_at, story.last_published_at]
            dated = bool(times)
            if not dated:
                times = [_ts(a.published_at) for _, a in members]
                if story is not None:
                    times += [story.first_published_at, story.last_published_at]
            first, last = min(times), max(times)
            if dated:
                placed.extend((article_id, last) for article_id, a in members if not a.dated)
                if story is not None and not story.dated:
                    now_dated.append((story.story_id, last))
            category = next((a.category for _, a in members if a.category), None)
            count = (story.article_count if story else 0) + len(members)
            headline = (story.headline if story else None) or members[0][1].title
            values: index.StoryValues = (
                first,
                last,
                count,
                len(sources),
                headline,
                category,
                dated,
            )
            if story is None:
                fresh.append((cluster, sources, values))
            else:
                grown.append((story.story_id, values))
                touched.append((story.story_id, cluster, sources, _posted_at(last, dated)))
        ids = await index.insert_stories(db, [values for _, _, values in fresh])
        for story_id, (cluster, sources, values) in zip(ids, fresh, strict=True):
            touched.append((story_id, cluster, sources, _posted_at(values[1], values[6])))
        await index.update_stories(db, grown)
        rows, postings = [], []
        for story_id, cluster, sources, posted_at in touched:
            centroid = ft.top_terms(cluster.vector, CENTROID_TERMS)
            rows.append(_index_row(story_id, centroid, sources, cluster))
            terms = ft.top_terms(ft.normalise(centroid), POSTING_TERMS)
            postings.extend(index.posting_rows(story_id, terms, posted_at))
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
        for story_id, at in now_dated:
            placed.extend(
                (article_id, at) for article_id, _ in await index.undated_members(db, [story_id])
            )
        await index.set_published(db, placed)
        return assigned

    async def _candidates(
        self,
        db: aiosqlite.Connection,
        vectors: list[dict[str, float]],
        times: list[int],
        dated: list[bool],
    ) -> list[index.Candidate]:
        """Stories sharing salient terms with each article inside its window.

        For each article, the ``max_candidates`` stories with the largest
        overlap (query weight times posting weight) whose postings are recent
        enough; one posting lookup serves the whole batch. An undated article
        has no window: it reads each term's newest postings of any time.
        """
        queries = [ft.top_terms(v, QUERY_TERMS) for v in vectors]
        dated_times = [at for at, d in zip(times, dated, strict=True) if d]
        lists: dict[str, list[tuple[int, float, int]]] = {}
        anytime: dict[str, list[tuple[int, float, int]]] = {}
        if dated_times:
            terms = {t for q, d in zip(queries, dated, strict=True) if d for t in q}
            lists = await index.postings(db, terms, min(dated_times) - self.window)
        if len(dated_times) < len(times):
            terms = {t for q, d in zip(queries, dated, strict=True) if not d for t in q}
            anytime = await index.postings_any_time(db, terms, ANYTIME_POSTINGS)
        if not lists and not anytime:
            return []
        wanted: set[int] = set()
        timeless: set[int] = set()  # wanted by an undated article: any time will do
        for query, at, is_dated in zip(queries, times, dated, strict=True):
            overlap: dict[int, float] = {}
            since = at - self.window if is_dated else None
            for term, weight in query.items():
                for story_id, posted, posted_at in (lists if is_dated else anytime).get(term, ()):
                    if since is None or posted_at >= since:
                        overlap[story_id] = overlap.get(story_id, 0.0) + weight * posted
            best = heapq.nlargest(self.max_candidates, overlap.items(), key=lambda kv: kv[1])
            (wanted if is_dated else timeless).update(story_id for story_id, _ in best)
        latest = max(dated_times, default=0) + self.window
        return [
            story
            for story in await index.load_candidates(db, wanted | timeless)
            if story.story_id in timeless or not story.dated or story.first_published_at <= latest
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
        count, first, last, dated = next(
            iter(
                await db.execute_fetchall(
                    "SELECT COUNT(*), MIN(published_at), MAX(published_at), MAX(dated)"
                    " FROM articles WHERE story_id = ?",
                    (story_id,),
                )
            )
        )
        if count == 0 or story is None:
            await db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            return
        dated = bool(dated)
        if story.dated and not dated:  # only undated articles left: back to when first seen
            seen = await index.undated_members(db, [story_id])
            await index.set_published(db, seen)
            first, last = min(t for _, t in seen), max(t for _, t in seen)
        centroid = dict(story.centroid)
        vector = ft.article_vector(counts, dfs, n_docs)
        ft.add_into(centroid, vector, -1.0)
        grams, short = story.grams, story.short
        if (own := ft.shortness(title, body or summary or "")) > 0.0:
            ft.add_into(grams, ft.gram_vector(vector), -1.0)
            short = max(short - own, 0.0)
        sources = dict(story.sources)
        key = outlet_key(source, article_id)
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
        values = (first, last, count, max(len(sources), 1), headline, None, dated)
        await index.update_stories(db, [(story_id, values)])
        await index.clear_postings(db, story_id)
        terms = ft.top_terms(ft.normalise(centroid), POSTING_TERMS)
        await index.save_indexes(
            db,
            [
                index.index_row(
                    story_id,
                    centroid,
                    sources,
                    max(story.members - 1, 1),
                    ft.top_terms(grams, GRAM_TERMS),
                    short,
                )
            ],
            index.posting_rows(story_id, terms, _posted_at(last, dated)),
        )

    async def consolidate(
        self, db: aiosqlite.Connection, *, since: datetime, until: datetime | None = None
    ) -> int:
        """Regroup the young stories best-first, keeping their ids; returns articles moved.

        Articles arriving one at a time (a poll brings each outlet separately)
        are grouped in arrival order, and an early wrong merge cannot be undone
        by later arrivals. This pass takes every story running between ``since``
        and ``until`` (its last article published at or after ``since``, its
        first not after ``until``) and regroups their articles together, as a
        batch import would. Each new group keeps the id of the old story it
        shares most articles with, so links and digest history stay valid; a
        story that disappears hands its digest history to the group holding
        most of its articles. Runs in its own transaction.
        """
        async with transaction(db):
            rows = list(
                await db.execute_fetchall(
                    "SELECT a.id, a.title, a.body, a.summary, a.source, a.published_at,"
                    " a.story_id, a.category, a.dated, a.fetched_at FROM articles AS a"
                    " JOIN stories AS s"
                    " ON s.id = a.story_id WHERE s.last_published_at >= ? AND s.first_published_at <= ?"
                    " ORDER BY a.published_at, a.id",
                    (_ts(since), 2**62 if until is None else _ts(until)),
                )
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
                _article_node(
                    k,
                    ft.article_vector(c, dfs, n_docs),
                    r[5] if r[8] else r[9],  # undated: when first seen
                    bool(r[8]),
                    r[1],
                    r[2] or r[3] or "",
                )
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
        placed: list[tuple[int, int]] = []  # (undated article id, the time it now takes)
        for n, cluster in enumerate(clusters):
            members = [rows[k] for k in sorted(cluster.members)]  # rows are in published order
            sources = outlets[n] = {}
            for r in members:
                key = outlet_key(r[4], r[0])
                sources[key] = sources.get(key, 0) + 1
            category = next((r[7] for r in members if r[7]), None)
            dated_times = [r[5] for r in members if r[8]]
            times = dated_times or [r[9] for r in members]
            for r in members:
                at = r[5] if r[8] else (times[-1] if dated_times else r[9])
                if not r[8] and at != r[5]:
                    placed.append((r[0], at))
            values[n] = (
                min(times),
                max(times),
                len(members),
                len(sources),
                members[0][1],
                category,
                bool(dated_times),
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
        await index.set_published(db, placed)
        await db.executemany("DELETE FROM stories WHERE id = ?", [(i,) for i in gone])
        await index.update_stories(db, [(owner[n], values[n]) for n in changed])
        await db.executemany(
            "DELETE FROM story_postings WHERE story_id = ?", [(owner[n],) for n in changed]
        )
        index_rows, postings = [], []
        for n in changed:
            cluster, story_id = clusters[n], owner[n]
            centroid = ft.top_terms(cluster.vector, CENTROID_TERMS)
            index_rows.append(_index_row(story_id, centroid, outlets[n], cluster))
            terms = ft.top_terms(ft.normalise(centroid), POSTING_TERMS)
            posted_at = _posted_at(values[n][1], values[n][6])
            postings.extend(index.posting_rows(story_id, terms, posted_at))
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

        Resumable: the clearing transaction records the rebuild and which
        articles each channel was already sent (durably, in ``rebuild_sent``);
        each batch commits with its cursor and the history of its articles'
        new stories. A rebuild killed at any point is finished by the next
        call before it does what it was asked.
        """
        stories_before = await _count(db, "SELECT COUNT(*) FROM stories")
        start = -(2**62) if since is None else _ts(since)
        done = 0
        pending = await story_store.pending_rebuild(db)
        if pending is not None:
            pending_start, cursor = pending
            log.warning("finishing a story rebuild that was interrupted")
            done += await self._regroup_from(db, cursor, progress)
            if pending_start <= start:  # it covered what is asked now
                stories_after = await _count(db, "SELECT COUNT(*) FROM stories")
                return RebuildReport(
                    articles=done, stories_before=stories_before, stories_after=stories_after
                )
        async with transaction(db):
            await story_store.begin_rebuild(db, start, now=_ts(datetime.now(UTC)))
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
        done += await self._regroup_from(db, (start, -1), progress)
        stories_after = await _count(db, "SELECT COUNT(*) FROM stories")
        return RebuildReport(
            articles=done, stories_before=stories_before, stories_after=stories_after
        )

    async def _regroup_from(
        self,
        db: aiosqlite.Connection,
        cursor: tuple[int, int],
        progress: Callable[[int], None] | None,
    ) -> int:
        """Regroup the articles after ``cursor`` batch by batch, then finish the rebuild."""
        done = 0
        while True:
            batch, after = await _article_batch(db, cursor, REBUILD_BATCH)
            if not batch:
                break
            async with transaction(db):
                await self.assign_batch(db, batch)
                await story_store.advance_rebuild(db, after, [i for i, _a in batch])
            done += len(batch)
            if progress is not None:  # articles regrouped and committed
                progress(len(batch))
            cursor = after
        async with transaction(db):
            await story_store.finish_rebuild(db)
        return done


async def _count(db: aiosqlite.Connection, sql: str) -> int:
    async with db.execute(sql) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _article_batch(
    db: aiosqlite.Connection, after: tuple[int, int], size: int
) -> tuple[list[tuple[int, Article]], tuple[int, int]]:
    """Articles after ``(published_at, id)`` in published order, and the next cursor.

    An undated article comes back at the time it was first seen, as it
    first arrived: the time its story gave it is the clusterer's to redo.
    """
    async with db.execute(
        "SELECT id, title, body, url, guid, source, author, category, published_at,"
        " updated_at, summary, content_hash, dated, fetched_at FROM articles"
        " WHERE (published_at, id) > (?, ?) ORDER BY published_at, id LIMIT ?",
        (*after, size),
    ) as cur:
        rows = list(await cur.fetchall())
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
            published_at=datetime.fromtimestamp(r[8] if r[12] else r[13], UTC),
            updated_at=None if r[9] is None else datetime.fromtimestamp(r[9], UTC),
            summary=r[10],
            content_hash=r[11],
            dated=bool(r[12]),
        )
        out.append((r[0], article))
    return out, ((rows[-1][8], rows[-1][0]) if rows else after)
