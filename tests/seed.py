"""Seeding stories of an exact make-up through the store's own write path.

Tests of what reads stories (the digest, search) need stories holding
exactly the articles a case names; letting the clusterer group them would
make every such case depend on its similarity heuristics. :func:`seed_story`
stores the articles as ingestion does (:func:`bot.store.articles.insert_articles`)
and files them under one new story with a :class:`bot.models.ClusterPlan`
applied by :func:`bot.store.clusters.apply_plan`, the write the clusterer
makes, with the story's row, summary, postings and document frequencies
computed from the articles by the clusterer's own rules.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from operator import itemgetter
from pathlib import Path

from bot.identity import content_hash
from bot.models import Article, ClusterPlan, PlannedStory, StoryFields
from bot.outlets import outlet_key
from bot.store import Connection, open_db, transaction
from bot.store import articles as article_store
from bot.store import clusters as cluster_store
from bot.store.generation import advance
from bot.stories import features as ft
from bot.stories.planner import (
    CENTROID_TERMS,
    GRAM_TERMS,
    POSTING_TERMS,
    document_delta,
    posted_at,
    with_delta,
)
from tests.pgserver import drop_database, fresh_database


@asynccontextmanager
async def another_store(backend: str, tmp_path: Path) -> AsyncIterator[Connection]:
    """A second fresh store on the same backend as the test's ``db`` (a file
    in ``tmp_path``, or a new PostgreSQL database, dropped afterwards), for
    comparing what two stores hold after the same writes."""
    url = str(tmp_path / "another.db") if backend == "sqlite" else fresh_database()
    try:
        db = await open_db(url)
        try:
            yield db
        finally:
            await db.close()
    finally:
        if backend != "sqlite":
            drop_database(url)


def make_article(
    title: str,
    source: str,
    published_at: datetime,
    *,
    body: str = "",
    summary: str | None = None,
    url: str | None = None,
    guid: str | None = None,
    author: str | None = None,
    category: str | None = None,
    dated: bool = True,
) -> Article:
    """A cleaned article as ingestion hands it to the store."""
    return Article(
        title=title,
        body=body,
        url=url,
        guid=guid,
        source=source,
        author=author,
        category=category,
        published_at=published_at,
        updated_at=None,
        summary=summary,
        content_hash=content_hash(title, body),
        dated=dated,
    )


def _ts(value: datetime) -> int:
    return int(value.timestamp())


async def seed_story(
    db: Connection,
    articles: Sequence[Article],
    *,
    guild_id: int | Sequence[int] = 0,
    feed_id: int | None = None,
    fetched_at: datetime | None = None,
) -> int:
    """Store ``articles`` (brought by ``feed_id``, if given) as one new story; its id.

    ``guild_id`` is the guild of every article, or one per article (a story
    may hold articles of several guilds). ``fetched_at`` defaults to the
    newest publication time. As the clusterer does, undated articles of a
    story with a dated one take its latest time.
    """
    if not articles:
        raise ValueError("a story needs at least one article")
    guilds = [guild_id] * len(articles) if isinstance(guild_id, int) else list(guild_id)
    if len(guilds) != len(articles):
        raise ValueError("one guild per article")
    fetched = fetched_at or max(a.published_at for a in articles)
    async with transaction(db):
        ids: list[int] = []
        for guild, run in itertools.groupby(zip(guilds, articles, strict=True), key=itemgetter(0)):
            batch = [a for _, a in run]
            ids += await article_store.insert_articles(
                db, batch, fetched_at=fetched, guild_id=guild
            )
        if feed_id is not None:
            await article_store.link_feed(db, feed_id, ids)
        plan = await _plan(db, list(zip(ids, articles, strict=True)))
        assigned = await cluster_store.apply_plan(db, plan)
        await advance(db)
    (story_id,) = set(assigned.values())
    return story_id


async def _plan(db: Connection, members: list[tuple[int, Article]]) -> ClusterPlan:
    members.sort(key=lambda m: (_ts(m[1].published_at), m[0]))
    counts = [ft.article_counts(a.title, a.body or a.summary or "", a.source) for _, a in members]
    delta = document_delta((c.keys() for c in counts), 1)
    stored = await cluster_store.frequencies(db, {t for c in counts for t in c})
    dfs, n_docs = with_delta(stored.dfs, stored.documents, delta)

    centroid: dict[str, float] = {}
    grams: dict[str, float] = {}
    short = 0.0
    for (_, a), c in zip(members, counts, strict=True):
        vector = ft.article_vector(c, dfs, n_docs)
        ft.add_into(centroid, vector)
        shortness = ft.shortness(a.title, a.body or a.summary or "")
        if shortness > 0.0:
            ft.add_into(grams, ft.gram_vector(vector))
            short += shortness
    centroid = ft.top_terms(centroid, CENTROID_TERMS)

    sources: dict[str, int] = {}
    for article_id, a in members:
        key = outlet_key(a.source, article_id)
        sources[key] = sources.get(key, 0) + 1
    dated_times = [_ts(a.published_at) for _, a in members if a.dated]
    times = dated_times or [_ts(a.published_at) for _, a in members]
    first, last = min(times), max(times)
    fields = StoryFields(
        first_published_at=first,
        last_published_at=last,
        article_count=len(members),
        source_count=len(sources),
        headline=members[0][1].title,
        category=next((a.category for _, a in members if a.category), None),
        dated=bool(dated_times),
    )
    story = PlannedStory(
        ref=-1,
        fields=fields,
        centroid=centroid,
        sources=sources,
        members=len(members),
        grams=ft.top_terms(grams, GRAM_TERMS) if short > 0.0 else {},
        short=short,
        postings=ft.top_terms(ft.normalise(centroid), POSTING_TERMS),
        posted_at=posted_at(last, fields.dated),
    )
    placed = {i: last for i, a in members if not a.dated} if dated_times else {}
    return ClusterPlan(
        stories=[story],
        assign={article_id: -1 for article_id, _ in members},
        placed=placed,
        df_delta=delta,
    )
