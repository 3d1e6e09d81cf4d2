"""Issue 14 over the loopback Discord: /feeds pause | resume (and later refresh, export)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.ingest.parse.opml import parse_opml
from bot.store import feeds as feed_store
from tests.fakediscord.server import attachment_data
from tests.test_bot_e2e import is_ephemeral, run_command

BACKENDS = ("sqlite", "postgresql")  # the loopback Discord suite on both stores

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness", "tests.httpserver"]

NOW = dt.datetime(2024, 6, 1, 7, 0, tzinfo=dt.UTC)


async def test_admin_pauses_and_resumes_an_auto_paused_feed(newsroom: Newsroom) -> None:
    db = newsroom.nd.db
    own = await feed_store.add_feed(
        db, "https://own.example/feed", guild_id=newsroom.guild.id, now=NOW
    )
    shared = await feed_store.add_feed(db, "https://shared.example/feed", now=NOW)
    # The poller gave up on it after long failure.
    await feed_store.record_failure(
        db, own, now=NOW, error="HTTP 500", next_poll_at=NOW, paused=True
    )
    async with newsroom.running():
        auto = await newsroom.fake.send_autocomplete(
            "newsadmin feeds resume", {"feed": ""}, focused="feed"
        )
        choices = (await auto.wait_response())["data"]["choices"]
        assert [c["value"] for c in choices] == [str(own)]

        _, first, resumed = await run_command(
            newsroom, "newsadmin feeds resume", {"feed": str(own)}
        )
        assert is_ephemeral(first)
        assert resumed["content"].startswith(f"Resumed feed `#{own}`")
        feed = await feed_store.get_feed(db, own)
        assert not feed.paused and feed.consecutive_failures == 0

        _, _, paused = await run_command(
            newsroom, "newsadmin feeds pause", {"feed": "https://own.example/feed"}
        )
        assert paused["content"].startswith(f"Paused feed `#{own}`")
        assert (await feed_store.get_feed(db, own)).paused
        _, _, again = await run_command(newsroom, "newsadmin feeds pause", {"feed": str(own)})
        assert "already paused" in again["content"]

        _, _, refused = await run_command(newsroom, "newsadmin feeds pause", {"feed": str(shared)})
        assert "shared feed" in refused["content"]
        _, _, unknown = await run_command(newsroom, "newsadmin feeds resume", {"feed": "99999"})
        assert "has no feed 99999" in unknown["content"]
    assert not (await feed_store.get_feed(db, shared)).paused


async def test_members_cannot_pause_or_resume(newsroom: Newsroom) -> None:
    db = newsroom.nd.db
    own = await feed_store.add_feed(
        db, "https://own.example/feed", guild_id=newsroom.guild.id, now=NOW
    )
    async with newsroom.running():
        _, pause, _ = await run_command(
            newsroom,
            "newsadmin feeds pause",
            {"feed": str(own)},
            member=newsroom.alice,
            check_permissions=False,
        )
        auto = await newsroom.fake.send_autocomplete(
            "newsadmin feeds pause", {"feed": ""}, focused="feed", member=newsroom.alice
        )
        choices = (await auto.wait_response())["data"]["choices"]
    assert pause["type"] == 4 and is_ephemeral(pause)
    assert "Manage Server" in pause["data"]["content"]
    assert choices == []
    assert not (await feed_store.get_feed(db, own)).paused


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback Local News</title>
<link>http://127.0.0.1/</link><description>d</description>
<item><title>Local fair opens</title><link>http://127.0.0.1/fair</link>
<pubDate>Sat, 01 Jun 2024 06:00:00 GMT</pubDate></item></channel></rss>"""


async def test_refresh_fetches_the_servers_feeds_now_with_a_cooldown(
    newsroom: Newsroom, http_server
) -> None:
    headers = {"Content-Type": "application/rss+xml"}
    http_server.route("/own.xml", body=RSS, headers=headers)
    http_server.route("/theirs.xml", body=RSS, headers=headers)
    db = newsroom.nd.db
    later = NOW + dt.timedelta(hours=5)  # not due: polled a moment ago
    other = newsroom.fake.add_guild("Elsewhere", channels=["news"])
    for path, guild in (("/own.xml", newsroom.guild.id), ("/theirs.xml", other.id)):
        feed_id = await feed_store.add_feed(db, http_server.url(path), guild_id=guild, now=NOW)
        await feed_store.record_not_modified(db, feed_id, now=NOW, next_poll_at=later)
    async with newsroom.running():
        _, refused, _ = await run_command(
            newsroom, "newsadmin feeds refresh", member=newsroom.alice, check_permissions=False
        )
        assert "Manage Server" in refused["data"]["content"]

        _, first, done = await run_command(newsroom, "newsadmin feeds refresh")
        assert is_ephemeral(first)
        assert done["content"].startswith("Fetched 1 feed(s): 1 new article(s)")

        _, slow, _ = await run_command(newsroom, "newsadmin feeds refresh")
        assert slow["type"] == 4 and is_ephemeral(slow)
        assert "run this again in" in slow["data"]["content"]
    assert http_server.count("/own.xml") == 1
    assert http_server.count("/theirs.xml") == 0  # another server's feed


async def test_export_attaches_the_servers_feeds_as_opml(newsroom: Newsroom) -> None:
    db = newsroom.nd.db
    await feed_store.add_feed(db, "https://own.example/feed", guild_id=newsroom.guild.id, now=NOW)
    await feed_store.add_feed(db, "https://shared.example/feed", now=NOW)
    async with newsroom.running():
        _, first, final = await run_command(newsroom, "feeds export", member=newsroom.alice)
    assert is_ephemeral(first)
    assert final["content"].startswith("2 feed(s), as OPML")
    (attachment,) = final["attachments"]
    assert attachment["filename"] == "newsdesk-feeds.opml"
    urls = [feed.url for feed in parse_opml(attachment_data(attachment["url"]))]
    assert urls == ["https://shared.example/feed", "https://own.example/feed"]


async def test_admin_commands_are_hidden_from_members(newsroom: Newsroom) -> None:
    import pytest

    manage_guild = 1 << 5
    async with newsroom.running():
        synced = {c["name"]: c for c in newsroom.fake.commands(newsroom.guild)}
        assert int(synced["newsadmin"]["default_member_permissions"]) == manage_guild
        assert synced["newsadmin"]["contexts"] == [0]  # servers only
        for public in ("news", "feeds", "digest", "help"):
            assert synced[public].get("default_member_permissions") is None
        with pytest.raises(PermissionError, match="newsadmin"):
            await newsroom.fake.send_command("newsadmin feeds refresh", member=newsroom.alice)
        _, listing, _ = await run_command(newsroom, "feeds list", member=newsroom.alice)
        assert listing["type"] == 5  # the public commands stay open to members


async def test_search_and_date_have_a_friendly_per_member_cooldown(newsroom: Newsroom) -> None:
    from bot.discordbot.cogs.news import COOLDOWN_RATE

    async with newsroom.running():
        for _ in range(COOLDOWN_RATE):
            _, ok, _ = await run_command(
                newsroom, "news search", {"query": "flood"}, member=newsroom.alice
            )
            assert ok["type"] == 5
        _, slow, _ = await run_command(
            newsroom, "news search", {"query": "flood"}, member=newsroom.alice
        )
        assert slow["type"] == 4 and is_ephemeral(slow)
        assert slow["data"]["content"].startswith("Slow down a little: you can run this again in")
        # Another member, and another command, have buckets of their own.
        _, other, _ = await run_command(
            newsroom, "news search", {"query": "flood"}, member=newsroom.bob
        )
        assert other["type"] == 5
        for _ in range(COOLDOWN_RATE):
            _, ok, _ = await run_command(
                newsroom, "news date", {"when": "2024-05-31"}, member=newsroom.alice
            )
            assert ok["type"] == 5
        _, slow, _ = await run_command(
            newsroom, "news date", {"when": "2024-05-31"}, member=newsroom.alice
        )
        assert is_ephemeral(slow) and "run this again in" in slow["data"]["content"]
