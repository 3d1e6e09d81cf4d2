"""Single-pass story clustering: each new article joins the closest story or starts one.

An article is compared with the centroids of the stories that share its
salient terms inside the time window (found through ``story_postings``, never
by scanning stories). Similarity is a mix of the cosine of title + lead
TF-IDF vectors and the cosine of titles alone, with IDF learned from the
store as articles arrive. See :mod:`bot.stories.features` for the weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from ..models import Article
from ..store import transaction
from . import features as ft
from . import index

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.35
QUERY_TERMS = 24  # article terms used to look candidates up
POSTING_TERMS = 24  # story terms posted in the inverted index
CENTROID_TERMS = 64  # terms kept in a story's centroid
TITLE_TERMS = 30  # terms kept in a story's title centroid
MAX_CANDIDATES = 8  # stories scored per article
REBUILD_BATCH = 500  # articles per rebuild transaction


@dataclass(slots=True)
class RebuildReport:
    """What :meth:`StoryClusterer.rebuild` did."""

    articles: int
    stories_before: int
    stories_after: int


@dataclass(slots=True)
class _Vectors:
    """An article's IDF-weighted unit vectors."""

    terms: dict[str, float]
    title: dict[str, float]
    counted: list[str] = field(default_factory=list)  # terms whose df it adds to


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("published_at must be timezone-aware")
    return int(value.timestamp())


def _source_key(source: str) -> str:
    return source.strip().casefold()


class StoryClusterer:
    """Groups articles about the same event into stories (see module doc)."""

    def __init__(
        self,
        *,
        window_hours: float = 72.0,
        threshold: float = DEFAULT_THRESHOLD,
        title_share: float = 0.0,
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        if window_hours <= 0:
            raise ValueError("window_hours must be positive")
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if not 0.0 <= title_share <= 1.0:
            raise ValueError("title_share must be in [0, 1]")
        self.window = int(window_hours * 3600)
        self.threshold = threshold
        self.title_share = title_share
        self.max_candidates = max_candidates

    # -- scoring ---------------------------------------------------------------

    def similarity(self, vectors: _Vectors, story: index.Candidate) -> float:
        """How much an article looks like a story (0..1)."""
        full = ft.cosine(vectors.terms, story.centroid)
        if not vectors.title or not story.title_centroid:
            return full
        title = ft.cosine(vectors.title, story.title_centroid)
        return (1.0 - self.title_share) * full + self.title_share * title

    async def _vectors(
        self, db: aiosqlite.Connection, article_id: int, article: Article
    ) -> tuple[_Vectors, int | None]:
        raw = ft.extract(article.title, article.body or article.summary or "")
        terms = list(raw.terms)
        dfs, n_docs, current_story = await index.document_frequencies(db, terms, article_id)
        idfs = {t: ft.idf(dfs.get(t, 0), n_docs) for t in terms}
        vectors = _Vectors(
            terms=ft.weigh(raw.terms, idfs, 1.0),
            title=ft.weigh(raw.title, idfs, 1.0),
            counted=terms,
        )
        return vectors, current_story

    # -- public API --------------------------------------------------------------

    async def assign(self, db: aiosqlite.Connection, article_id: int, article: Article) -> int:
        """Put a just-stored article into a story (inside the caller's transaction).

        Returns the story id. An article that already belongs to a story
        (its title or body was updated) is taken out of it first.
        """
        vectors, current_story = await self._vectors(db, article_id, article)
        if current_story is not None:
            await self.forget(db, article_id)
            vectors, _ = await self._vectors(db, article_id, article)
        published = _ts(article.published_at)
        best, score = await self._best_story(db, vectors, published)
        if best is None:
            story_id = await self._new_story(db, article, vectors, published)
        else:
            story_id = best.story_id
            await self._join(db, best, article, vectors, published)
        await index.set_article_story(db, article_id, story_id)
        await index.add_document(db, vectors.counted, 1)
        log.debug("article %d -> story %d (score %.3f)", article_id, story_id, score)
        return story_id

    async def _best_story(
        self, db: aiosqlite.Connection, vectors: _Vectors, published: int
    ) -> tuple[index.Candidate | None, float]:
        query = ft.top_terms(vectors.terms, QUERY_TERMS)
        found = await index.candidates(db, query, published - self.window, self.max_candidates)
        best: index.Candidate | None = None
        best_score = 0.0
        for story in found:
            if story.first_published_at > published + self.window:
                continue
            score = self.similarity(vectors, story)
            if score > best_score:
                best, best_score = story, score
        if best_score < self.threshold:
            return None, best_score
        return best, best_score

    async def _new_story(
        self, db: aiosqlite.Connection, article: Article, vectors: _Vectors, published: int
    ) -> int:
        story_id = await index.insert_story(
            db,
            published_at=published,
            source_count=1,
            headline=article.title,
            category=article.category,
        )
        centroid = ft.top_terms(vectors.terms, CENTROID_TERMS)
        await index.save_index(
            db,
            story_id,
            centroid=centroid,
            title_centroid=ft.top_terms(vectors.title, TITLE_TERMS),
            headline_vector=vectors.title,
            sources={_source_key(article.source): 1},
        )
        await index.post(db, story_id, ft.top_terms(centroid, POSTING_TERMS), published)
        return story_id

    async def _join(
        self,
        db: aiosqlite.Connection,
        story: index.Candidate,
        article: Article,
        vectors: _Vectors,
        published: int,
    ) -> None:
        centroid = dict(story.centroid)
        ft.add_into(centroid, vectors.terms)
        centroid = ft.top_terms(centroid, CENTROID_TERMS)
        title_centroid = dict(story.title_centroid)
        ft.add_into(title_centroid, vectors.title)
        title_centroid = ft.top_terms(title_centroid, TITLE_TERMS)
        headline, headline_vector = story.headline, story.headline_vector
        if vectors.title and ft.cosine(vectors.title, title_centroid) > ft.cosine(
            headline_vector, title_centroid
        ):
            headline, headline_vector = article.title, vectors.title
        sources = dict(story.sources)
        key = _source_key(article.source)
        sources[key] = sources.get(key, 0) + 1
        first = min(story.first_published_at, published)
        last = max(story.last_published_at, published)
        await index.update_story(
            db,
            story.story_id,
            first=first,
            last=last,
            article_count=story.article_count + 1,
            source_count=len(sources),
            headline=headline,
            category=article.category,
        )
        await index.save_index(
            db,
            story.story_id,
            centroid=centroid,
            title_centroid=title_centroid,
            headline_vector=headline_vector,
            sources=sources,
        )
        await index.post(
            db, story.story_id, ft.top_terms(ft.normalise(centroid), POSTING_TERMS), last
        )

    async def forget(self, db: aiosqlite.Connection, article_id: int) -> None:
        """Take an article out of its story (before it is deleted or re-assigned).

        The article's current text is what gets subtracted from the story's
        centroid, so call this before changing it when you can. A story left
        without articles is deleted.
        """
        async with db.execute(
            "SELECT title, body, summary, source, story_id FROM articles WHERE id = ?",
            (article_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None or row[4] is None:
            return
        title, body, summary, source, story_id = row
        await index.set_article_story(db, article_id, None)
        raw = ft.extract(title, body or summary or "")
        terms = list(raw.terms)
        dfs, n_docs, _ = await index.document_frequencies(db, terms, article_id)
        await index.add_document(db, terms, -1)
        story = await index.load_index(db, story_id)
        async with db.execute(
            "SELECT COUNT(*), MIN(published_at), MAX(published_at) FROM articles"
            " WHERE story_id = ?",
            (story_id,),
        ) as cur:
            count, first, last = await cur.fetchone()
        if count == 0 or story is None:
            await db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            return
        idfs = {t: ft.idf(dfs.get(t, 0), n_docs) for t in terms}
        centroid = dict(story.centroid)
        ft.add_into(centroid, ft.weigh(raw.terms, idfs, 1.0), -1.0)
        title_centroid = dict(story.title_centroid)
        ft.add_into(title_centroid, ft.weigh(raw.title, idfs, 1.0), -1.0)
        sources = dict(story.sources)
        key = _source_key(source)
        sources[key] = sources.get(key, 0) - 1
        if sources[key] <= 0:
            del sources[key]
        headline, headline_vector = story.headline, story.headline_vector
        if headline == title:
            async with db.execute(
                "SELECT title FROM articles WHERE story_id = ? ORDER BY published_at, id LIMIT 1",
                (story_id,),
            ) as cur:
                (headline,) = await cur.fetchone()
            head_raw = ft.extract(headline, "")
            headline_vector = ft.weigh(head_raw.title, idfs, 1.0)
        await index.update_story(
            db,
            story_id,
            first=first,
            last=last,
            article_count=count,
            source_count=max(len(sources), 1),
            headline=headline,
            category=None,
        )
        await index.save_index(
            db,
            story_id,
            centroid=centroid,
            title_centroid=title_centroid,
            headline_vector=headline_vector,
            sources=sources,
        )
        await index.clear_postings(db, story_id)
        await index.post(db, story_id, ft.top_terms(ft.normalise(centroid), POSTING_TERMS), last)

    async def rebuild(
        self, db: aiosqlite.Connection, *, since: datetime | None = None
    ) -> RebuildReport:
        """Recompute stories for articles published since ``since`` (all when None).

        Runs in its own transactions (one to clear, then batches of
        ``REBUILD_BATCH`` articles in published order). Must not be called
        inside an open transaction.
        """
        stories_before = await _count(db, "SELECT COUNT(*) FROM stories")
        start = -(2**62) if since is None else _ts(since)
        async with transaction(db):
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
                for article_id, article in batch:
                    await self.assign(db, article_id, article)
            done += len(batch)
            last_id, last_article = batch[-1]
            cursor = (_ts(last_article.published_at), last_id)
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
    from datetime import UTC

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
