"""The ingest pipeline's identity rules, over a real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clustering import StoryClusterer
from bot.ingest.pipeline import Ingestor
from bot.models import Entry
from bot.store.feeds import add_feed

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
BODY = (
    "The harbour authority closed the Old Quay bridge on Friday after divers found cracks in "
    "two of its piers.\n\nEngineers expect repairs to take at least six weeks."
)


def entry(**kw) -> Entry:
    base = dict(
        title="Old Quay bridge closed after divers find cracks",
        url="https://ledger.example/news/old-quay-bridge",
        guid="https://ledger.example/?p=4411",
        content=BODY,
        published_at=T0,
        source="Harbor Ledger",
    )
    base.update(kw)
    return Entry(**base)


async def rows(db, sql="SELECT id, url, title, body, guild_id FROM articles ORDER BY id"):
    async with db.execute(sql) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def _search_hits(db, backend: str, word: str) -> int:
    """How many articles the full-text index finds for ``word`` (FTS5 or tsvector)."""
    if backend == "postgresql":
        sql = "SELECT count(*) FROM articles WHERE search @@ to_tsquery('newsdesk', ?)"
    else:
        sql = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?"
    async with db.execute(sql, (word,)) as cur:
        return int((await cur.fetchone())[0])


@pytest.fixture
def ingestor(db):
    return Ingestor(db, clusterer=StoryClusterer(), now=lambda: T0 + timedelta(hours=1))


async def test_reingesting_stores_nothing_new(db, ingestor):
    first = await ingestor.ingest_entries([entry()])
    again = await ingestor.ingest_entries([entry()])
    assert (first.new, again.new, again.duplicates) == (1, 0, 1)
    assert len(await rows(db)) == 1


async def test_same_article_through_two_feeds_is_stored_once(db, ingestor):
    first_feed = await add_feed(db, "https://a.example/f", now=T0)
    second_feed = await add_feed(db, "https://b.example/f", now=T0)
    first = await ingestor.ingest_entries([entry()], feed_id=first_feed)
    tracked = entry(
        url="https://LEDGER.example/news/old-quay-bridge?utm_source=rss&fbclid=x#top", guid=None
    )
    report = await ingestor.ingest_entries([tracked], feed_id=second_feed)
    assert report.duplicates == 1 and report.new == 0
    assert len(await rows(db)) == 1
    links = await rows(db, "SELECT article_id, feed_id FROM article_feeds ORDER BY feed_id")
    [stored] = first.new_ids
    assert links == [(stored, first_feed), (stored, second_feed)]


async def test_changed_content_is_updated_in_place(db, ingestor, backend):
    await ingestor.ingest_entries([entry()])
    changed = entry(
        content=BODY + "\n\nUpdate: the bridge will reopen to pedestrians on Monday.",
        updated_at=T0 + timedelta(hours=3),
    )
    report = await ingestor.ingest_entries([changed])
    assert (report.new, report.updated) == (0, 1)
    [(_id, _url, _title, body, _g)] = await rows(db)
    assert "reopen to pedestrians" in body
    assert await _search_hits(db, backend, "pedestrians") == 1


async def test_an_older_version_never_overwrites_a_newer_one(db, ingestor):
    newer = entry(
        title="Old Quay bridge to stay shut until spring",
        updated_at=T0 + timedelta(hours=5),
        content=BODY + "\n\nIt stays shut.",
    )
    older = entry(updated_at=T0 + timedelta(hours=1))
    report = await ingestor.ingest_entries([newer, older])  # feeds list both versions
    assert (report.new, report.updated, report.duplicates) == (1, 0, 1)
    assert (await rows(db))[0][2] == "Old Quay bridge to stay shut until spring"


async def test_content_hash_identifies_articles_without_url_or_guid(db, ingestor):
    bare = entry(url=None, guid=None)
    assert (await ingestor.ingest_entries([bare])).new == 1
    assert (await ingestor.ingest_entries([bare])).duplicates == 1


async def test_untrustworthy_guid_is_not_identity(db, ingestor):
    a = entry(guid="1", url="https://ledger.example/a")
    b = entry(
        guid="1",
        url="https://ledger.example/b",
        title="Council votes on budget",
        content="The council approved the budget by seven votes to two on Tuesday.",
    )
    report = await ingestor.ingest_entries([a, b])
    assert report.new == 2


async def test_guild_feed_article_becomes_shared_when_a_shared_feed_brings_it(db, ingestor):
    await ingestor.ingest_entries([entry()], guild_id=111)
    assert (await rows(db))[0][4] == 111
    await ingestor.ingest_entries([entry()], guild_id=0)
    assert (await rows(db))[0][4] == 0


async def test_entries_without_title_or_text_fail_with_a_reason(db, ingestor):
    report = await ingestor.ingest_entries([Entry(title="", content="")], where="feed x")
    assert report.failed == 1 and "no title or text" in report.errors[0][1]
    assert await rows(db) == []


async def test_a_failure_mid_batch_writes_nothing(db, monkeypatch):
    from bot.store import clusters

    apply_plan = clusters.apply_plan

    async def exploding(conn, plan, article_ids=None):
        await apply_plan(conn, plan, article_ids)  # articles and stories written...
        raise RuntimeError("power cut")  # ...then the process dies mid-batch

    monkeypatch.setattr(clusters, "apply_plan", exploding)
    ingestor = Ingestor(db, clusterer=StoryClusterer())
    batch = [
        entry(
            url=f"https://ledger.example/{i}",
            guid=None,
            title=f"Story number {i} here",
            content=f"Paragraph {i} about topic {i * 7}.",
        )
        for i in range(5)
    ]
    with pytest.raises(RuntimeError):
        await ingestor.ingest_entries(batch)
    assert await rows(db) == []
    assert await rows(db, "SELECT id FROM stories") == []
