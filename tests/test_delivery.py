"""Exactly-once digest delivery (bot.delivery) over a real temporary store."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.clustering import StoryClusterer
from bot.config import DigestChannel
from bot.delivery import (
    QUIET_LINE,
    Delivery,
    PreparedDigest,
    SendForbidden,
    message_nonce,
)
from bot.digest.models import DigestItem
from bot.ingest.pipeline import Ingestor
from bot.models import Entry
from bot.store import digests as store

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

DAY = dt.date(2024, 3, 31)
CHANNEL = DigestChannel(channel_id=111111111111111111, time=dt.time(8), timezone="UTC", guild_id=5)


class Clock:
    def __init__(self, start: float = 1_711_872_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Crash(BaseException):
    """Simulates the process dying in the middle of a send."""


class FakeChannel:
    """A channel that, like Discord with enforce_nonce, drops repeated nonces."""

    def __init__(self) -> None:
        self.messages: dict[str, tuple[int, dict]] = {}
        self.calls: list[str] = []
        self.fail_at: int | None = None
        self.error: BaseException | None = None
        self._next = 1000

    async def send(self, payload: dict, nonce: str) -> int:
        self.calls.append(nonce)
        if self.fail_at is not None and len(self.calls) == self.fail_at and self.error:
            raise self.error
        if nonce in self.messages:
            return self.messages[nonce][0]
        self._next += 1
        self.messages[nonce] = (self._next, payload)
        return self._next


def _item(story_id: int) -> DigestItem:
    return DigestItem(
        story_id=story_id,
        headline=f"Story {story_id}",
        summary="s",
        source_count=2,
        article_count=2,
        links=[],
        more_links=0,
        published_at=dt.datetime(2024, 3, 31, tzinfo=dt.UTC),
        category=None,
    )


def _prepared(n_messages: int = 3, story_ids: tuple[int, ...] = (1, 2)) -> PreparedDigest:
    payloads = [{"content": f"part {i}"} for i in range(n_messages)]
    return PreparedDigest(payloads=payloads, items=[_item(s) for s in story_ids])


def _prepare(prepared: PreparedDigest):
    async def prepare() -> PreparedDigest:
        return prepared

    return prepare


TOPICS = (
    "Volcano erupts on remote island, flights grounded across the region",
    "Chess prodigy wins world title after marathon tiebreak match",
)


@pytest.fixture
async def seeded(db):
    """A store holding two stories, ids 1 and 2, ingested as the bot ingests a feed."""
    published = dt.datetime(2024, 3, 30, 12, tzinfo=dt.UTC)
    entries = [
        Entry(
            title=title,
            url=f"https://outlet.example/{n}",
            published_at=published,
            summary=f"{title}. A full report with the details of what happened.",
            source="Outlet",
        )
        for n, title in enumerate(TOPICS)
    ]
    ingestor = Ingestor(db, clusterer=StoryClusterer(), now=lambda: published)
    await ingestor.ingest_entries(entries)
    async with db.execute("SELECT DISTINCT story_id FROM articles ORDER BY story_id") as cur:
        assert [r[0] for r in await cur.fetchall()] == [1, 2]
    return db


async def test_nonce_is_25_chars_and_unique_per_message_day_and_channel():
    nonces = {
        message_nonce(c, d, i)
        for c in (1, 2)
        for d in (DAY, DAY + dt.timedelta(days=1))
        for i in range(3)
    }
    assert len(nonces) == 12
    assert all(len(n) == 25 for n in nonces)
    assert message_nonce(1, DAY, 0) == message_nonce(1, DAY, 0)


async def test_delivers_once_records_ids_and_history(seeded):
    db, clock, chan = seeded, Clock(), FakeChannel()
    delivery = Delivery(db, clock=clock)
    result = await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    assert result.result == "sent"
    assert result.story_count == 2
    assert len(result.message_ids) == 3
    assert chan.calls == [message_nonce(CHANNEL.channel_id, DAY, i) for i in range(3)]

    record = await store.get_digest(db, CHANNEL.channel_id, DAY)
    assert record.status == "sent"
    assert record.message_ids == result.message_ids
    assert record.guild_id == 5
    async with db.execute("SELECT story_id FROM digest_items ORDER BY story_id") as cur:
        assert [r[0] for r in await cur.fetchall()] == [1, 2]

    again = await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    assert again.result == "already"
    assert len(chan.calls) == 3


async def test_concurrent_deliveries_post_once(seeded):
    chan = FakeChannel()
    delivery = Delivery(seeded, clock=Clock())
    results = await asyncio.gather(
        *(
            delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
            for _ in range(3)
        )
    )
    assert sorted(r.result for r in results) == ["already", "already", "sent"]
    assert len(chan.messages) == 3


async def test_crash_mid_send_then_quick_restart_resends_with_same_nonces(seeded):
    db, clock, chan = seeded, Clock(), FakeChannel()
    chan.fail_at, chan.error = 2, Crash()
    with pytest.raises(Crash):
        await Delivery(db, clock=clock).deliver(
            CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send
        )
    record = await store.get_digest(db, CHANNEL.channel_id, DAY)
    assert record.status == "claimed"
    assert len(record.message_ids) == 1

    clock.now += 120  # restarted two minutes later
    chan.fail_at = None
    result = await Delivery(db, clock=clock).deliver(
        CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send
    )
    assert result.result == "sent"
    # The confirmed first message is not sent again; the second is retried with its nonce.
    nonces = [message_nonce(CHANNEL.channel_id, DAY, i) for i in range(3)]
    assert chan.calls == [nonces[0], nonces[1], nonces[1], nonces[2]]
    assert len(chan.messages) == 3
    assert len(result.message_ids) == 3


async def test_crash_after_send_before_confirm_is_deduplicated_by_nonce(seeded):
    db, clock, chan = seeded, Clock(), FakeChannel()

    async def send_then_die(payload: dict, nonce: str) -> int:
        await chan.send(payload, nonce)  # Discord got it, we never learn the id
        raise Crash()

    with pytest.raises(Crash):
        await Delivery(db, clock=clock).deliver(
            CHANNEL, DAY, prepare=_prepare(_prepared(1)), send=send_then_die
        )
    clock.now += 30
    result = await Delivery(db, clock=clock).deliver(
        CHANNEL, DAY, prepare=_prepare(_prepared(1)), send=chan.send
    )
    assert result.result == "sent"
    assert len(chan.messages) == 1  # same nonce: the platform returned the first message


async def test_stale_claim_is_marked_uncertain_and_not_resent(seeded):
    db, clock, chan = seeded, Clock(), FakeChannel()
    chan.fail_at, chan.error = 1, Crash()
    with pytest.raises(Crash):
        await Delivery(db, clock=clock).deliver(
            CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send
        )
    clock.now += 3600
    chan.fail_at = None
    result = await Delivery(db, clock=clock).deliver(
        CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send
    )
    assert result.result == "uncertain"
    assert len(chan.calls) == 1
    record = await store.get_digest(db, CHANNEL.channel_id, DAY)
    assert record.status == "failed"
    assert "uncertain" in record.error


async def test_forbidden_is_recorded_and_not_retried(seeded):
    db, clock, chan = seeded, Clock(), FakeChannel()
    chan.fail_at, chan.error = 1, SendForbidden("Missing Access")
    delivery = Delivery(db, clock=clock)
    result = await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    assert result.result == "forbidden"
    state = await store.channel_state(db, CHANNEL.channel_id)
    assert state.forbidden and "403" in state.last_error and state.guild_id == 5
    assert (await store.get_digest(db, CHANNEL.channel_id, DAY)).status == "failed"

    # Same day and next day: nothing is sent to the forbidden channel.
    assert (
        await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    ).result == "already"
    nxt = DAY + dt.timedelta(days=1)
    skipped = await delivery.deliver(CHANNEL, nxt, prepare=_prepare(_prepared()), send=chan.send)
    assert skipped.result == "skipped"
    assert len(chan.calls) == 1
    assert [c.channel_id for c in await store.forbidden_channels(db, guild_id=5)] == [
        CHANNEL.channel_id
    ]

    # An admin's explicit retry that succeeds clears the flag.
    chan.fail_at = None
    forced = await delivery.deliver(
        CHANNEL, nxt, prepare=_prepare(_prepared()), send=chan.send, force=True
    )
    assert forced.result == "sent"
    assert not await store.is_forbidden(db, CHANNEL.channel_id)


async def test_other_send_error_fails_the_day_without_retry(seeded):
    db, clock, chan = seeded, Clock(), FakeChannel()
    chan.fail_at, chan.error = 2, RuntimeError("503 Service Unavailable")
    delivery = Delivery(db, clock=clock)
    result = await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    assert result.result == "failed"
    assert "message 2 of 3" in result.error
    record = await store.get_digest(db, CHANNEL.channel_id, DAY)
    assert record.status == "failed" and len(record.message_ids) == 1
    assert not await store.is_forbidden(db, CHANNEL.channel_id)
    again = await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    assert again.result == "already"
    assert len(chan.calls) == 2


async def test_forced_retry_of_failed_day_continues_after_sent_messages(seeded):
    db, clock, chan = seeded, Clock(), FakeChannel()
    chan.fail_at, chan.error = 2, RuntimeError("boom")
    delivery = Delivery(db, clock=clock)
    await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    chan.fail_at = None
    result = await delivery.deliver(
        CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send, force=True
    )
    assert result.result == "sent"
    assert len(chan.messages) == 3
    assert (
        await delivery.deliver(
            CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send, force=True
        )
    ).result == "already"  # never re-posts a sent day


@pytest.mark.parametrize(
    ("quiet_day", "expected", "messages"), [("skip", "empty", 0), ("post", "sent", 1)]
)
async def test_quiet_day(db, quiet_day, expected, messages):
    chan = FakeChannel()
    result = await Delivery(db, clock=Clock()).deliver(
        CHANNEL,
        DAY,
        prepare=_prepare(PreparedDigest(payloads=[], items=[])),
        send=chan.send,
        quiet_day=quiet_day,
    )
    assert result.result == expected
    assert len(chan.messages) == messages
    if messages:
        ((_, payload),) = chan.messages.values()
        assert payload["content"] == QUIET_LINE
        assert payload["allowed_mentions"] == {"parse": []}
    assert (await store.get_digest(db, CHANNEL.channel_id, DAY)).status == expected


async def test_build_failure_is_recorded(db):
    async def broken() -> PreparedDigest:
        raise ValueError("no such table")

    chan = FakeChannel()
    result = await Delivery(db, clock=Clock()).deliver(CHANNEL, DAY, prepare=broken, send=chan.send)
    assert result.result == "failed"
    assert "no such table" in result.error
    assert chan.calls == []
    assert (await store.get_digest(db, CHANNEL.channel_id, DAY)).status == "failed"


async def test_record_missed_then_no_send(db):
    delivery, chan = Delivery(db, clock=Clock()), FakeChannel()
    assert await delivery.record_missed(CHANNEL, DAY, reason="bot was down")
    assert not await delivery.record_missed(CHANNEL, DAY, reason="again")
    record = await store.get_digest(db, CHANNEL.channel_id, DAY)
    assert record.status == "missed" and record.error == "bot was down"
    result = await delivery.deliver(CHANNEL, DAY, prepare=_prepare(_prepared()), send=chan.send)
    assert result.result == "already"
    assert chan.calls == []


@pytest.mark.parametrize("in_transaction", [True, False], ids=["transaction", "statement"])
async def test_two_processes_claim_each_digest_once(db, store_url, in_transaction):
    """Two connections to one store (two bot processes) claiming the same days at
    once: the primary key and ``ON CONFLICT DO NOTHING`` give each day one winner,
    with or without the writer lock of a transaction."""
    from bot.store import open_db, transaction

    days = [DAY + dt.timedelta(days=i) for i in range(10)]
    other = await open_db(store_url)

    async def claim(conn, day: dt.date, who: str) -> bool:
        async def insert() -> bool:
            return await store.claim_digest(
                conn, CHANNEL.channel_id, day, guild_id=5, nonce=who, now=1_711_872_000
            )

        if not in_transaction:
            return await insert()
        async with transaction(conn):
            return await insert()

    try:
        won = await asyncio.gather(
            *(claim(conn, day, who) for day in days for conn, who in ((db, "a"), (other, "b")))
        )
    finally:
        await other.close()
    assert [won[i] + won[i + 1] for i in range(0, len(won), 2)] == [1] * len(days)
    for i, day in enumerate(days):
        record = await store.get_digest(db, CHANNEL.channel_id, day)
        assert record is not None and record.status == store.CLAIMED
        assert record.nonce == ("a" if won[2 * i] else "b")


async def test_claim_records_and_channel_state_read_back(db):
    """The digests and channel_state rows through every store function."""
    cid, days = CHANNEL.channel_id, [DAY - dt.timedelta(days=i) for i in range(3)]
    for day in days:
        assert await store.claim_digest(db, cid, day, guild_id=5, nonce="n", now=10)
    assert not await store.claim_digest(db, cid, DAY, guild_id=5, nonce="m", now=11)
    await store.save_progress(db, cid, DAY, [7, 8])
    await store.finish_digest(db, cid, days[1], store.FAILED, now=20, error="boom")
    await store.finish_digest(db, cid, days[2], store.SENT, now=20, story_count=4, message_ids=[9])
    recent = await store.recent_digests(db, cid, limit=2)
    assert [(r.digest_date, r.status) for r in recent] == [(DAY, "claimed"), (days[1], "failed")]
    assert recent[0].message_ids == [7, 8] and recent[0].finished_at is None
    assert recent[1].error == "boom" and recent[1].finished_at == 20
    sent = await store.get_digest(db, cid, days[2])
    assert (sent.story_count, sent.message_ids, sent.guild_id) == (4, [9], 5)
    assert not await store.reclaim_digest(db, cid, days[2], now=30)  # sent stays sent
    assert await store.reclaim_digest(db, cid, days[1], now=30)
    again = await store.get_digest(db, cid, days[1])
    assert (again.status, again.claimed_at, again.error) == ("claimed", 30, None)

    assert await store.channel_state(db, cid) is None
    await store.record_channel_error(db, cid, guild_id=5, error="HTTP 500", now=40)
    assert not await store.is_forbidden(db, cid)
    await store.mark_forbidden(db, cid, guild_id=5, error="HTTP 403", now=41)
    await store.record_channel_error(db, cid, guild_id=5, error="HTTP 502", now=42)
    state = await store.channel_state(db, cid)
    assert (state.forbidden, state.last_error, state.last_error_at) == (True, "HTTP 502", 42)
    assert [s.channel_id for s in await store.forbidden_channels(db)] == [cid]
    assert await store.forbidden_channels(db, guild_id=6) == []
    await store.clear_forbidden(db, cid)
    assert not await store.is_forbidden(db, cid) and await store.forbidden_channels(db) == []
