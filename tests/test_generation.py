"""Planning outside the write lock: a batch planned while another writer commits is
planned again, so nothing is stored twice and every article ends in one story."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.clustering import StoryClusterer
from bot.ingest.pipeline import Ingestor
from bot.models import Entry
from bot.store import open_db
from bot.store.generation import generation

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def entries(outlet: str, count: int = 5) -> list[Entry]:
    return [
        Entry(
            title=f"Harbour bridge closed after divers find cracks, report {i}",
            url=f"https://{outlet}.example/news/bridge-{i}",
            content="The harbour authority closed the Old Quay bridge on Friday after divers "
            f"found cracks in two of its piers. Repairs take six weeks ({outlet} {i}).",
            published_at=T0 + timedelta(minutes=i),
            source=outlet,
        )
        for i in range(count)
    ]


class Interrupted(StoryClusterer):
    """A clusterer that lets another process's ingest commit while it plans, once."""

    def __init__(self, other: Ingestor, batch: list[Entry]) -> None:
        super().__init__()
        self.other, self.batch, self.plans = other, batch, 0

    async def plan(self, db, items):  # type: ignore[no-untyped-def, override]
        self.plans += 1
        if self.plans == 1:
            await self.other.ingest_entries(self.batch)  # commits on its own connection
        return await super().plan(db, items)


async def test_a_batch_planned_while_another_writer_commits_is_planned_again(store_url):
    first, second = await open_db(store_url), await open_db(store_url)  # two writers
    try:
        now = lambda: T0 + timedelta(hours=1)  # noqa: E731
        other = Ingestor(second, clusterer=StoryClusterer(), now=now)
        same = entries("ledger")
        clusterer = Interrupted(other, same)
        mine = Ingestor(first, clusterer=clusterer, now=now)
        before = await generation(first)

        report = await mine.ingest_entries([*same, *entries("courier")])

        assert clusterer.plans == 2  # the first plan was stale and never written
        assert (report.new, report.duplicates) == (5, 5)  # the other's five are not doubled
        assert await generation(first) == before + 2  # one write each
        rows = list(await first.execute_fetchall("SELECT url, story_id FROM articles"))
        assert len(rows) == 10 and len({r[0] for r in rows}) == 10
        assert all(r[1] is not None for r in rows)
        stories = {r[1] for r in rows}
        assert len(stories) == 1  # both outlets' coverage of one event: one story
        counts = list(await first.execute_fetchall("SELECT article_count FROM stories"))
        assert [c[0] for c in counts] == [10]
    finally:
        await first.close()
        await second.close()


async def test_two_writers_at_once_store_each_article_once_in_consistent_stories(store_url):
    """Two connections ingest overlapping batches at the same time: each article is
    stored once, and every story's counts are those of the articles it holds."""
    first, second = await open_db(store_url), await open_db(store_url)
    try:
        now = lambda: T0 + timedelta(hours=1)  # noqa: E731
        shared = entries("ledger")
        a = Ingestor(first, clusterer=StoryClusterer(), now=now)
        b = Ingestor(second, clusterer=StoryClusterer(), now=now)
        reports = await asyncio.gather(
            a.ingest_entries([*shared, *entries("courier")]),
            b.ingest_entries([*entries("herald"), *shared]),
        )
        assert sum(r.new for r in reports) == 15
        assert sum(r.duplicates for r in reports) == 5
        rows = list(await first.execute_fetchall("SELECT url, story_id FROM articles"))
        assert len(rows) == 15 and len({r[0] for r in rows}) == 15
        assert all(r[1] is not None for r in rows)
        held: dict[int, int] = {}
        for _url, story_id in rows:
            held[story_id] = held.get(story_id, 0) + 1
        counts = await first.execute_fetchall("SELECT id, article_count FROM stories")
        assert {int(r[0]): int(r[1]) for r in counts} == held
    finally:
        await first.close()
        await second.close()
