"""The feeds table: subscriptions per guild and per-feed health."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.pipeline import Ingestor
from bot.models import Entry
from bot.store import feeds as fs

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

T0 = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


async def test_add_feed_is_idempotent_per_url_and_guild(db):
    a = await fs.add_feed(db, "https://example.com/rss", now=T0)
    again = await fs.add_feed(db, " https://example.com/rss ", now=T0 + timedelta(hours=1))
    other_guild = await fs.add_feed(db, "https://example.com/rss", guild_id=42, added_by=7, now=T0)
    assert a == again and a != other_guild
    assert len(await fs.list_feeds(db, guild_id=None)) == 2


async def test_add_feed_fills_missing_title_but_keeps_a_chosen_one(db):
    fid = await fs.add_feed(db, "https://a.example/rss", now=T0)
    assert (await fs.get_feed(db, fid)).title is None
    await fs.add_feed(db, "https://a.example/rss", title="A News", now=T0)
    await fs.add_feed(db, "https://a.example/rss", title="Other", now=T0)
    assert (await fs.get_feed(db, fid)).title == "A News"


async def test_add_feed_refuses_empty_url_and_naive_datetimes(db):
    with pytest.raises(ValueError):
        await fs.add_feed(db, "  ", now=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        await fs.add_feed(db, "https://a.example/rss", now=datetime(2025, 7, 1))


async def test_new_feed_is_healthy_and_due_at_once(db):
    fid = await fs.add_feed(db, "https://a.example/rss", guild_id=5, title="A", now=T0)
    h = await fs.get_feed(db, fid)
    assert (h.id, h.url, h.title, h.guild_id) == (fid, "https://a.example/rss", "A", 5)
    assert h.consecutive_failures == 0 and not h.paused
    assert h.last_success_at is None and h.last_error is None and h.next_poll_at is None
    due = await fs.due_feeds(db, T0)
    assert [r.id for r in due] == [fid]
    assert due[0].added_at == T0 and due[0].failing_since == T0
    assert await fs.get_feed(db, 999) is None


async def test_guilds_see_shared_feeds_and_their_own_only(db):
    shared = await fs.add_feed(db, "https://shared.example/rss", now=T0)
    g1 = await fs.add_feed(db, "https://one.example/rss", guild_id=1, now=T0)
    g2 = await fs.add_feed(db, "https://two.example/rss", guild_id=2, now=T0)
    assert [f.id for f in await fs.list_feeds(db, guild_id=1)] == [shared, g1]
    assert [f.id for f in await fs.list_feeds(db, guild_id=2)] == [shared, g2]
    assert [f.id for f in await fs.list_feeds(db, guild_id=3)] == [shared]
    assert {f.id for f in await fs.list_feeds(db, guild_id=None)} == {shared, g1, g2}


async def test_remove_feed_only_touches_the_guilds_own_feed(db):
    shared = await fs.add_feed(db, "https://x.example/rss", now=T0)
    mine = await fs.add_feed(db, "https://x.example/rss", guild_id=1, now=T0)
    theirs = await fs.add_feed(db, "https://x.example/rss", guild_id=2, now=T0)
    assert not await fs.remove_feed(db, shared, guild_id=1)
    assert not await fs.remove_feed(db, theirs, guild_id=1)
    assert await fs.remove_feed(db, mine, guild_id=1)
    assert not await fs.remove_feed(db, mine, guild_id=1)  # already gone
    assert {f.id for f in await fs.list_feeds(db, guild_id=None)} == {shared, theirs}
    assert await fs.remove_feed(db, shared, guild_id=0)  # the CLI removes shared feeds


async def test_removing_a_feed_drops_its_article_links(db):
    fid = await fs.add_feed(db, "https://x.example/rss", guild_id=1, now=T0)
    entry = Entry(title="t", url="https://x.example/1", summary="b", published_at=T0, source="s")
    await Ingestor(db, now=lambda: T0).ingest_entries([entry], feed_id=fid, guild_id=1)
    async with db.execute("SELECT COUNT(*) FROM article_feeds") as cur:
        assert (await cur.fetchone())[0] == 1
    assert await fs.remove_feed(db, fid, guild_id=1)
    async with db.execute("SELECT COUNT(*) FROM article_feeds") as cur:
        assert (await cur.fetchone())[0] == 0
    async with db.execute("SELECT COUNT(*) FROM articles") as cur:
        assert (await cur.fetchone())[0] == 1


async def test_due_feeds_skips_paused_and_future_feeds(db):
    a = await fs.add_feed(db, "https://a.example/rss", now=T0)
    b = await fs.add_feed(db, "https://b.example/rss", now=T0)
    c = await fs.add_feed(db, "https://c.example/rss", now=T0)
    await fs.record_success(
        db, a, now=T0, etag='"e"', last_modified=None, next_poll_at=T0 + timedelta(minutes=30)
    )
    await fs.record_failure(db, b, now=T0, error="boom", next_poll_at=T0, paused=True)
    assert [r.id for r in await fs.due_feeds(db, T0)] == [c]
    due_later = await fs.due_feeds(db, T0 + timedelta(minutes=30))
    assert [r.id for r in due_later] == [c, a]  # c has waited longest
    assert due_later[1].etag == '"e"'


async def test_success_not_modified_failure_and_resume_update_health(db):
    fid = await fs.add_feed(db, "https://a.example/rss", now=T0)
    t1 = T0 + timedelta(minutes=1)
    await fs.record_success(
        db,
        fid,
        now=t1,
        etag='"v1"',
        last_modified="Tue, 01 Jul 2025",
        next_poll_at=t1 + timedelta(minutes=15),
        title="From feed",
    )
    h = await fs.get_feed(db, fid)
    assert h.last_success_at == t1 and h.next_poll_at == t1 + timedelta(minutes=15)
    assert h.title == "From feed" and h.last_success_at.tzinfo is not None

    t2 = t1 + timedelta(minutes=15)
    n1 = await fs.record_failure(
        db, fid, now=t2, error="HTTP 500", next_poll_at=t2 + timedelta(minutes=1), paused=False
    )
    n2 = await fs.record_failure(
        db,
        fid,
        now=t2 + timedelta(minutes=1),
        error="HTTP 502",
        next_poll_at=t2 + timedelta(minutes=2),
        paused=False,
    )
    assert (n1, n2) == (1, 2)
    h = await fs.get_feed(db, fid)
    assert h.consecutive_failures == 2 and h.last_error == "HTTP 502"
    assert h.last_error_at == t2 + timedelta(minutes=1)
    assert h.last_success_at == t1 and not h.paused
    row = (await fs.due_feeds(db, t2 + timedelta(hours=1)))[0]
    # The streak began at the first failure, not at the second nor the last success.
    assert row.consecutive_failures == 2 and row.failing_since == t2
    assert (row.etag, row.last_modified) == ('"v1"', "Tue, 01 Jul 2025")

    t3 = t2 + timedelta(minutes=5)
    await fs.record_not_modified(db, fid, now=t3, next_poll_at=t3 + timedelta(minutes=15))
    h = await fs.get_feed(db, fid)
    assert h.consecutive_failures == 0 and h.last_success_at == t3
    row = (await fs.due_feeds(db, t3 + timedelta(hours=1)))[0]
    assert row.etag == '"v1"'  # kept: the 304 carried no new validators
    await fs.record_not_modified(db, fid, now=t3, next_poll_at=t3, etag='"v2"')
    assert (await fs.due_feeds(db, t3))[0].etag == '"v2"'

    await fs.record_failure(db, fid, now=t3, error="x" * 5000, next_poll_at=t3, paused=True)
    h = await fs.get_feed(db, fid)
    assert h.paused and len(h.last_error) == 500
    assert await fs.due_feeds(db, t3 + timedelta(days=30)) == []
    assert await fs.resume_feed(db, fid)
    h = await fs.get_feed(db, fid)
    assert not h.paused and h.consecutive_failures == 0 and h.next_poll_at is None
    assert [r.id for r in await fs.due_feeds(db, t3)] == [fid]
    assert not await fs.resume_feed(db, 12345)


LEASE = timedelta(minutes=10)


async def test_a_claim_takes_a_due_feed_once_until_its_lease_ends(db):
    fid = await fs.add_feed(db, "https://a.example/rss", guild_id=5, now=T0)
    row = await fs.claim_feed(db, fid, now=T0, lease_until=T0 + LEASE)
    assert row is not None and (row.id, row.url, row.guild_id) == (fid, "https://a.example/rss", 5)
    # Held: not due, not claimable again, not even by a poll on demand.
    assert await fs.claim_feed(db, fid, now=T0, lease_until=T0 + LEASE) is None
    assert await fs.claim_feed(db, fid, now=T0, lease_until=T0 + LEASE, everything=True) is None
    assert await fs.due_feeds(db, T0 + LEASE - timedelta(seconds=1)) == []
    assert (await fs.get_feed(db, fid)).next_poll_at == T0 + LEASE
    # The poller never recorded an outcome (it died): the feed is due again when the lease ends.
    later = T0 + LEASE
    assert [r.id for r in await fs.due_feeds(db, later)] == [fid]
    again = await fs.claim_feed(db, fid, now=later, lease_until=later + LEASE)
    assert again is not None and again.id == fid


async def test_an_outcome_ends_the_claim(db):
    fid = await fs.add_feed(db, "https://a.example/rss", now=T0)
    assert await fs.claim_feed(db, fid, now=T0, lease_until=T0 + LEASE)
    await fs.record_success(
        db, fid, now=T0, etag='"v1"', last_modified=None, next_poll_at=T0 + timedelta(minutes=15)
    )
    h = await fs.get_feed(db, fid)
    assert h.next_poll_at == T0 + timedelta(minutes=15) and h.last_success_at == T0
    # Not due, so a scheduled claim refuses it; a poll on demand takes it (nobody holds it).
    assert await fs.claim_feed(db, fid, now=T0, lease_until=T0 + LEASE) is None
    row = await fs.claim_feed(db, fid, now=T0, lease_until=T0 + LEASE, everything=True)
    assert row is not None and row.etag == '"v1"'
    t1 = T0 + timedelta(minutes=1)
    await fs.record_failure(db, fid, now=t1, error="HTTP 500", next_poll_at=t1, paused=False)
    row = await fs.claim_feed(db, fid, now=t1, lease_until=t1 + LEASE)
    assert row is not None and row.consecutive_failures == 1 and row.failing_since == t1
    await fs.record_not_modified(db, fid, now=t1, next_poll_at=t1 + timedelta(hours=1))
    assert await fs.claim_feed(db, fid, now=t1, lease_until=t1 + LEASE, everything=True)


async def test_paused_or_removed_feeds_are_not_claimed(db):
    paused = await fs.add_feed(db, "https://p.example/rss", now=T0)
    gone = await fs.add_feed(db, "https://g.example/rss", guild_id=3, now=T0)
    await fs.pause_feed(db, paused)
    await fs.remove_feed(db, gone, guild_id=3)
    for fid in (paused, gone):
        for everything in (False, True):
            claim = await fs.claim_feed(
                db, fid, now=T0, lease_until=T0 + LEASE, everything=everything
            )
            assert claim is None


@pytest.mark.parametrize("in_transaction", [True, False], ids=["transaction", "statement"])
async def test_two_connections_racing_for_the_same_feeds_get_each_once(
    db, store_url, in_transaction
):
    """The claim is one conditional UPDATE: atomic by itself (without the
    writer lock of a transaction), so two processes never both win a feed."""
    from bot.store import open_db, transaction

    ids = [await fs.add_feed(db, f"https://{i}.example/rss", now=T0) for i in range(20)]
    other = await open_db(store_url)

    async def take(conn, fid):
        if not in_transaction:
            return await fs.claim_feed(conn, fid, now=T0, lease_until=T0 + LEASE)
        async with transaction(conn):
            return await fs.claim_feed(conn, fid, now=T0, lease_until=T0 + LEASE)

    try:
        # Both ask for every feed in the same order, interleaved.
        results = await asyncio.gather(*(take(c, fid) for fid in ids for c in (db, other)))
    finally:
        await other.close()
    won = [r.id for r in results if r is not None]
    assert sorted(won) == ids
